// Reading of [worker.http] tables: static files, WebSocket paths, request bounds.
#pragma once

#include <toml++/toml.h>

#include "detail/field_reader.h"
#include "wman/config.h"

namespace wman::detail {

// Bounds of [worker.http] max_header_size, in bytes (docs/config.md#workerhttp).
inline constexpr std::uint64_t kMinHttpHeaderSize = 1024;
inline constexpr std::uint64_t kMaxHttpHeaderSize = 1024 * 1024;

// Reads `table` into `http`: each key's type and range, the WebSocket paths (one string or an
// array, each "/..." without query or fragment, no duplicates) and, when check_files is on,
// that `root` is a readable directory. Errors go to `reader`.
void readHttp(FieldReader& reader, const toml::table& table, HttpConfig& http);

}  // namespace wman::detail
