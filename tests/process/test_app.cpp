// App module for the process tests (tests/process/multi_process_test.py), loaded by the real
// wman binary with `app = "/abs/path/libwman_test_app.so"`. Text-line behaviours:
//   "pid"   -> replies with the worker's pid
//   "id"    -> replies "PID SETUP START NOW": the pid and Worker::id() as seen in setup, in
//              onWorkerStart and now
//   "crash" -> abort()
//   "hang"  -> spins forever (no heartbeat; the master must kill it)
//   other   -> echoed back
// [worker.options] crash_at_start = true makes the entry point abort(), so every spawn of
// the worker dies before it reports ready; crash_at_start_file = "PATH" does the same only
// while PATH exists (so a running worker can be made to crash at every respawn).
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "wman/app_module.h"

namespace {

volatile unsigned long g_spin = 0;

void setup(wman::Worker& w) {
  auto it = w.options.find("crash_at_start");
  if (it != w.options.end() && it->second.text == "true") std::abort();
  auto file = w.options.find("crash_at_start_file");
  if (file != w.options.end() && ::access(file->second.text.c_str(), F_OK) == 0) std::abort();
  auto ids = std::make_shared<std::string>(std::to_string(w.id()));
  w.onWorkerStart = [ids](wman::Worker& self) { *ids += " " + std::to_string(self.id()); };
  w.onMessage = [ids, &w](wman::Connection& c, wman::Message m) {
    std::string_view line = m.view();
    if (line == "pid") {
      c.send(std::to_string(::getpid()));
    } else if (line == "id") {
      c.send(std::to_string(::getpid()) + " " + *ids + " " + std::to_string(w.id()));
    } else if (line == "crash") {
      std::abort();
    } else if (line == "hang") {
      for (;;) g_spin = g_spin + 1;
    } else {
      c.send(m);
    }
  };
}

}  // namespace

WMAN_APP(setup)
