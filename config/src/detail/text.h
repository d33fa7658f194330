// Small text helpers for config error messages.
#pragma once

#include <string>
#include <string_view>

namespace wman::detail {

// `text` in single quotes for an error message, with control characters replaced by '?' so
// that one message stays on one line.
std::string quote(std::string_view text);

// The names in wman::ProtocolRegistry, comma-separated, for "(registered: ...)" hints.
std::string registeredProtocols();

}  // namespace wman::detail
