#include "cli.h"

#include <CLI/CLI.hpp>

namespace wman::daemon {
namespace {

// Exactly one target; the message is the one positional argument.
void addSendOptions(CLI::App& sub, CliOptions& opts) {
  auto* group = sub.add_option_group("target", "where the message goes");
  for (const char* kind : {"uid", "group", "client", "channel"}) {
    group->add_option_function<std::string>(
        std::string("--") + kind,
        [&opts, kind](const std::string& name) {
          opts.send_target = kind;
          opts.send_name = name;
        },
        std::string("every connection of this ") + kind);
  }
  group->add_flag_callback(
      "--all", [&opts] { opts.send_target = "all"; }, "every connection of every worker");
  group->require_option(1);
  sub.add_option("MESSAGE", opts.message, "the message")->required();
}

}  // namespace

std::optional<CliOptions> parseCli(int argc, char** argv, const std::string& default_config,
                                   int& exit_code) {
  CliOptions opts;
  opts.config_path = default_config;
  CLI::App app{"wman: event-driven socket server (websocket, text, frame, tcp)", "wman"};
  app.set_version_flag("-v,--version", std::string("wman ") + WMAN_VERSION);
  app.require_subcommand(1);
  for (const Verb& verb : kVerbs) {
    CLI::App* sub = app.add_subcommand(std::string(verb.name), std::string(verb.description));
    sub->add_option("-c,--config", opts.config_path, "config file")
        ->default_str(default_config.empty() ? "none" : default_config);
    if (verb.flags & kDaemon) sub->add_flag("-d,--daemon", opts.daemonize, "run in the background");
    if (verb.flags & kGraceful) sub->add_flag("-g,--graceful", opts.graceful, "graceful");
    if (verb.flags & kJson) sub->add_flag("--json", opts.json, "print JSON for machines");
    if (verb.flags & kTimeout) {
      sub->add_option("--timeout", opts.timeout_s, "seconds to wait for every worker")
          ->check(CLI::Range(0.001, 600.0));
    }
    if (verb.flags & kSend) addSendOptions(*sub, opts);
    sub->callback([&opts, sub, name = verb.name] {
      opts.verb = std::string(name);
      opts.config_given = sub->count("--config") > 0;
    });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  }
  exit_code = 0;
  return opts;
}

}  // namespace wman::daemon
