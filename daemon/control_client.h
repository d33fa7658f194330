// The CLI's side of the control socket: one JSON request line out, one JSON line back.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "json.h"

namespace wman::daemon {

// Connects to `socket_path`, sends `request`, and waits up to `timeout` for the one-line
// answer. Returns nullopt with `error` set when no master answers ("not running"), the
// connection drops, or the answer is not JSON.
std::optional<Json> controlRequest(const std::string& socket_path, const Json& request,
                                   std::chrono::milliseconds timeout, std::string* error);

}  // namespace wman::daemon
