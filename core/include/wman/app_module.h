// App modules: a shared object that sets a Worker's callbacks, named by `app = "/path/x.so"`
// in the config and loaded by the process that serves the worker (see docs/apps.md).
#pragma once

#include <string>

#include "wman/worker.h"

// Defines the module's entry point. `fn` is `void fn(wman::Worker&)`: it sets callbacks and
// may read worker.options; an exception it throws fails the load with its message.
#define WMAN_APP(fn)                                                                            \
  extern "C" __attribute__((visibility("default"))) void wman_app_entry_v1(::wman::Worker& w) { \
    fn(w);                                                                                      \
  }

namespace wman {

// dlopen()s `path` and runs its WMAN_APP entry point on `worker`. Returns false and sets
// `error` if the file cannot be loaded, has no entry point, or its entry point throws. The
// module stays loaded for the life of the process. Symbols of wman itself resolve against
// the running program, so modules link nothing of wman.
bool loadAppModule(const std::string& path, Worker& worker, std::string* error);

}  // namespace wman
