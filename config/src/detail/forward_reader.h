// The built-in `forward` app's keys in [worker.options].
#pragma once

#include "detail/field_reader.h"
#include "detail/worker_reader.h"

namespace wman::detail {

// True when `entry` runs the built-in `forward` app (not a module that happens to share the
// name, and only in binaries that have the app).
bool runsForwardApp(const FieldReader& reader, const WorkerEntry& entry);

// Checks and parses the forward app's [worker.options] into entry.config.forward: `upstream`
// (required, a connect URL whose protocol is registered), `upstream_ca` (a readable file,
// resolved like the TLS files), `upstream_tls_verify` and `upstream_connect_timeout`. Every
// message starts with "worker NAME: ", so call it once default names are set. Other keys in
// [worker.options] are left alone, as for every app.
void readForwardOptions(FieldReader& reader, WorkerEntry& entry);

}  // namespace wman::detail
