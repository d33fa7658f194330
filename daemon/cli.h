// Command-line parsing for `wman` and wman::runAll(): one table of verbs, one options struct.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wman::daemon {

// Flags a verb accepts besides -c.
enum VerbFlags : std::uint8_t {
  kNone = 0,
  kDaemon = 1,
  kGraceful = 2,
  kJson = 4,
  kTimeout = 8,
  kSend = 16,  // --uid U | --group G | --client ID | --all | --channel C, and MESSAGE
};

struct Verb {
  std::string_view name;
  std::uint8_t flags;
  std::string_view description;
};

// Every verb the CLI accepts, in the order `wman --help` lists them.
inline constexpr Verb kVerbs[] = {
    {"start", kDaemon, "start the master and its workers (-d: in the background)"},
    {"stop", kGraceful, "stop everything (-g: let connections finish, up to drain_timeout)"},
    {"restart", kDaemon | kGraceful, "stop, then start again"},
    {"reload", kGraceful,
     "re-read the config and replace the workers without dropping connections (-g: let old "
     "connections drain)"},
    {"status", kJson, "show the master and every worker process"},
    {"connections", kJson | kTimeout,
     "list every connection of every worker (--timeout: longest wait for the workers)"},
    {"check", kNone, "validate the config file (syntax, keys, addresses, files) and exit"},
    {"send", kSend,
     "hand MESSAGE to the bus for a uid, group, client id, channel or everyone (docs/cluster.md)"},
};

struct CliOptions {
  std::string verb;
  std::string config_path;
  bool config_given = false;
  bool daemonize = false;  // -d
  bool graceful = false;   // -g
  bool json = false;       // --json
  double timeout_s = 0;    // --timeout in seconds; 0 = the master's default (10 s)
  // send: the target kind ("uid", "group", "client", "all", "channel"), its name, the data.
  std::string send_target;
  std::string send_name;
  std::string message;
};

// Parses `argv`. Returns nullopt when the program should exit right away (help, version, or
// a usage error, already printed); `exit_code` then says with which status.
std::optional<CliOptions> parseCli(int argc, char** argv, const std::string& default_config,
                                   int& exit_code);

}  // namespace wman::daemon
