#include "wman/run_dir.h"

#include <toml++/toml.h>

#include "wman/config.h"

namespace wman {

std::string readRunDir(const std::string& path) {
  const std::string fallback = DaemonConfig{}.run_dir;
  try {
    toml::table table = toml::parse_file(path);
    if (auto dir = table["daemon"]["run_dir"].value<std::string>()) return *dir;
  } catch (...) {
    // A file `wman check` would refuse still names where the running master lives, when it
    // can be parsed at all; otherwise the default is the best guess.
  }
  return fallback;
}

}  // namespace wman
