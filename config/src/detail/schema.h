// The key names of every config table, used to explain a key written in the wrong table.
// Keep in sync with the Field lists in config_loader.cpp, worker_reader.cpp, tls_reader.cpp
// and forward_reader.cpp.
#pragma once

#include <string>
#include <string_view>

namespace wman::detail {

// A hint for a key that is unknown in `section` but known in another table, e.g.
// "it belongs in [worker.limits]"; "" when `key` is unknown everywhere.
std::string misplacedKeyHint(std::string_view key, std::string_view section);

}  // namespace wman::detail
