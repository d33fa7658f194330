// The [daemon] keys of the operations endpoint: metrics, metrics_token, metrics_cert and
// metrics_key.
#pragma once

#include <toml++/toml.h>

#include "detail/field_reader.h"
#include "wman/config.h"

namespace wman::detail {

// `metrics = "host:port"`: a listen address without a scheme ("" = off).
ValueReader asMetricsAddress(std::string* out);
// `metrics_token`: an RFC 6750 bearer token (letters, digits, "-._~+/", then "=" padding).
ValueReader asBearerToken(std::string* out);

// What ties the keys together, after readFields() read them from `daemon`: cert with key,
// and no token or certificate without an address to serve them on. Sets d.metrics_line.
void checkMetrics(FieldReader& r, const toml::table& daemon, DaemonConfig& d);

}  // namespace wman::detail
