#include <string>
#include <string_view>
#include <vector>

#include "wman/serve.h"

namespace wman {

bool installBuiltinApp(std::string_view name, Worker& worker) {
  if (name == "echo") {
    // Echo answers every message with itself, same kind, through the worker's protocol.
    worker.onMessage = [](Connection& c, Message m) { c.send(m); };
    return true;
  }
  return false;
}

std::vector<std::string> builtinAppNames() {
  return {"echo"};
}

}  // namespace wman
