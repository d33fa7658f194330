// The one setting the CLI needs even from a config that does not validate: where the
// running master's pid file and control socket are.
#pragma once

#include <string>

namespace wman {

// [daemon] run_dir of the TOML file at `path`, or the default "/run/wman" when the file
// cannot be read or parsed or does not set it. Never throws.
std::string readRunDir(const std::string& path);

}  // namespace wman
