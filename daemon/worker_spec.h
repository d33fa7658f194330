// What the master knows about one [[worker]] (or code-defined Worker): enough to bind its
// listener and to build the Worker inside each forked worker process.
#pragma once

#include <memory>
#include <string>

#include "wman/config.h"
#include "wman/worker.h"

namespace wman::daemon {

struct WorkerSpec {
  std::string name;
  std::string listen;
  ListenUrl url;
  int count = 1;
  bool reuse_port = false;
  // Exactly one of these is set: a [[worker]] table (kept alive by `config`), or a Worker
  // the program defined in code (library mode).
  std::shared_ptr<const Config> config;
  const WorkerConfig* table = nullptr;
  Worker* code = nullptr;
};

}  // namespace wman::daemon
