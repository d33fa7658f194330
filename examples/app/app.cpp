// An app module built out of tree against an installed wman (see README.md): a greeter.
// Every connection is greeted with [worker.options] `greeting`, then each message comes back
// upper-cased with its own kind, so it works over text://, frame:// and ws:// alike. The
// line "/who" answers how many connections this worker process holds. Load it with
//   app = "/path/to/libgreeter.so"
// in a [[worker]] table of the config.
#include <wman/app_module.h>

#include <cctype>
#include <string>
#include <string_view>

namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

void setup(wman::Worker& worker) {
  // [worker.options] values arrive as text; strings without their quotes.
  std::string greeting = "hello from " + worker.name;
  if (auto it = worker.options.find("greeting"); it != worker.options.end()) {
    greeting = it->second.text;
  }

  worker.onConnect = [greeting](wman::Connection& c) { c.send(greeting); };
  worker.onMessage = [&worker](wman::Connection& c, wman::Message m) {
    if (m.view() == "/who") {
      c.send(std::to_string(worker.connections().size()) + " connected");
      return;
    }
    c.send(upper(m.view()), m.kind());
  };
}

}  // namespace

WMAN_APP(setup)
