// Command-line parsing for `wman` and wman::runAll(): one table of verbs, one options struct.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wman::daemon {

struct Verb {
  std::string_view name;
  std::string_view description;
};

// Every verb the CLI accepts, in the order `wman --help` lists them.
inline constexpr Verb kVerbs[] = {
    {"start", "serve the configured workers in the foreground until SIGINT/SIGTERM"},
    {"check", "validate the config file (syntax, keys, addresses, files) and exit"},
};

struct CliOptions {
  std::string verb;
  std::string config_path;
  bool config_given = false;
};

// Parses `argv`. Returns nullopt when the program should exit right away (help, version, or
// a usage error, already printed); `exit_code` then says with which status.
std::optional<CliOptions> parseCli(int argc, char** argv, const std::string& default_config,
                                   int& exit_code);

}  // namespace wman::daemon
