// Reading of [worker.tls] tables, SNI entries included.
#pragma once

#include <toml++/toml.h>

#include "detail/field_reader.h"
#include "wman/config.h"

namespace wman::detail {

// Reads `table` into `tls` and checks what ties its keys together (cert with key,
// verify_client with ca, unique SNI names). Errors go to `reader`.
void readTls(FieldReader& reader, const toml::table& table, TlsConfig& tls);

}  // namespace wman::detail
