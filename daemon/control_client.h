// The CLI's side of the control socket: one JSON request line out, one JSON line back (or,
// for a streamed answer such as `connections`, several lines, the last one a summary).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "json.h"

namespace wman::daemon {

// Connects to `socket_path`, sends `request`, and hands each answer line to `on_line` until
// it returns true (the answer is complete). `timeout` bounds the whole exchange, including
// retries while the master refuses the connection at its cap ("busy"). Returns
// false with `error` set when no master answers ("not running"), the connection drops before
// the answer is complete, a line is not JSON, or the time runs out.
bool controlExchange(const std::string& socket_path, const Json& request,
                     std::chrono::milliseconds timeout,
                     const std::function<bool(Json line)>& on_line, std::string* error);

// Connects to `socket_path`, sends `request`, and waits up to `timeout` for the one-line
// answer. Returns nullopt with `error` set when no master answers ("not running"), the
// connection drops, or the answer is not JSON.
std::optional<Json> controlRequest(const std::string& socket_path, const Json& request,
                                   std::chrono::milliseconds timeout, std::string* error);

}  // namespace wman::daemon
