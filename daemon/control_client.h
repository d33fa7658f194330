// The CLI's side of the control socket: one JSON request line out, then JSON lines back
// until the answer is complete (one line for most commands; progress lines then a verdict
// for `stop`; pages then a summary for `connections`).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "json_doc.h"

namespace wman::daemon {

// Decides about one answer line: nullopt when the answer is complete, or how long to wait
// for the next line.
using LineHandler = std::function<std::optional<std::chrono::milliseconds>(Json line)>;

// Connects to `socket_path`, sends `request`, and hands each answer line to `on_line` until
// it says the answer is complete. `first_wait` bounds the time to the first line, including
// retries while the master refuses the connection at its cap ("busy"). Returns false with
// `error` set when no master answers ("not running"), the connection drops before the answer
// is complete, a line is not JSON, or a wait runs out.
bool controlConversation(const std::string& socket_path, const Json& request,
                         std::chrono::milliseconds first_wait, const LineHandler& on_line,
                         std::string* error);

// Connects to `socket_path`, sends `request`, and waits up to `timeout` for the one-line
// answer. Returns nullopt with `error` set when no master answers ("not running"), the
// connection drops, or the answer is not JSON.
std::optional<Json> controlRequest(const std::string& socket_path, const Json& request,
                                   std::chrono::milliseconds timeout, std::string* error);

}  // namespace wman::daemon
