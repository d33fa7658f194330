// Serving Workers inside the calling process (the single-process mode of `wman start`, and
// a way to embed wman in a program that owns its own process model).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "wman/worker.h"

namespace wman {

struct ServeOptions {
  // SIGTERM/SIGQUIT close connections gracefully (flushing) and wait this long before
  // dropping what is left; SIGINT drops them at once.
  std::chrono::milliseconds stop_timeout{5000};
};

// Opens every worker's listener, runs onWorkerStart, serves until SIGINT, SIGTERM or SIGQUIT,
// then stops every worker (onWorkerStop, connections closed, onClose) and returns 0.
// Returns 1 (after logging why) if a listener cannot be opened; nothing is left open then.
int serveInProcess(const std::vector<Worker*>& workers, const ServeOptions& options = {});

// Gives `worker` the callbacks of the built-in app `name` ("echo", "chat", "forward").
// Returns false if there is no such app; throws std::invalid_argument when the app's
// [worker.options] are unusable (forward: a bad upstream URL).
bool installBuiltinApp(std::string_view name, Worker& worker);

// Names of the built-in apps, for config validation and `wman check`.
std::vector<std::string> builtinAppNames();

}  // namespace wman
