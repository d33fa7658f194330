// The CLI's side of the control socket: one JSON request line out, one JSON line back.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "json.h"

namespace wman::daemon {

// Connects to `socket_path`, sends `request`, and waits up to `timeout` for the one-line
// answer. Returns nullopt with `error` set when no master answers ("not running"), the
// connection drops, or the answer is not JSON.
std::optional<Json> controlRequest(const std::string& socket_path, const Json& request,
                                   std::chrono::milliseconds timeout, std::string* error);

// Decides about one answer line of a longer conversation: nullopt when it is the final answer,
// or how long to wait for the next line when it only reports progress.
using ProgressHandler = std::function<std::optional<std::chrono::milliseconds>(const Json&)>;

// Like controlRequest() for commands that report progress before their verdict (`stop`):
// waits `first_wait` for the first line, then as long as `on_progress` says after each one.
// Returns the final answer, or nullopt with `error` set.
std::optional<Json> controlConversation(const std::string& socket_path, const Json& request,
                                        std::chrono::milliseconds first_wait,
                                        const ProgressHandler& on_progress, std::string* error);

}  // namespace wman::daemon
