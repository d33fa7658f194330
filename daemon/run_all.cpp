// wman::runAll(): the CLI verbs of docs/operations.md on top of the config loader, the
// master process and the control socket.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "connections_query.h"
#include "control_client.h"
#include "daemonize.h"
#include "master.h"
#include "pid_file.h"
#include "preflight.h"
#include "privileges.h"
#include "sd_notify.h"
#include "socket_activation.h"
#include "status_format.h"
#include "wman/bus_backend.h"
#include "wman/config.h"
#include "wman/logging.h"
#include "wman/run.h"
#include "wman/run_dir.h"
#include "wman/serve.h"
#include "wman/worker.h"

namespace wman {
namespace {

using namespace std::chrono_literals;
using daemon::asBool;
using daemon::asInt;
using daemon::asString;
using daemon::CliOptions;
using daemon::elements;
using daemon::Json;
using daemon::member;

constexpr const char* kDefaultConfig = "/etc/wman/wman.toml";
// How long a command waits for the master's first answer line.
constexpr auto kFirstAnswerWait = 10s;
// How long `stop` waits past the master's own kill deadline for its verdict: killed workers
// holding many connections can take the kernel a while to tear down.
constexpr auto kStopReapGrace = 30s;

ConfigResult load(const std::string& path, bool check_files = true) {
  ConfigCheck check;
  check.check_files = check_files;
  check.builtin_apps = builtinAppNames();
  return loadConfig(path, check);
}

// The config a command works with: the file, or (library mode without -c) the defaults.
// On errors returns nullopt with one `file:line: what` per entry in `errors`.
std::optional<Config> checkedConfig(const CliOptions& opts, bool has_code_workers,
                                    std::vector<std::string>& errors) {
  if (!opts.config_given && has_code_workers) return Config{};
  ConfigResult result = load(opts.config_path);
  if (result.ok()) {
    // Certificates and keys are loaded as the workers will load them; upstream hosts resolve.
    daemon::PreflightResult checked = daemon::preflight(*result.config);
    for (const std::string& w : checked.warnings) std::cerr << w << "\n";
    result.errors = std::move(checked.errors);
  }
  if (!result.ok()) {
    for (const ConfigError& e : result.errors) errors.push_back(e.format());
    return std::nullopt;
  }
  return std::move(*result.config);
}

void printRefused(const CliOptions& opts, const std::vector<std::string>& errors) {
  for (const std::string& e : errors) std::cerr << e << "\n";
  std::cerr << opts.config_path << ": " << errors.size() << " error(s); config refused\n";
}

// checkedConfig() that prints the errors.
std::optional<Config> configFor(const CliOptions& opts, bool has_code_workers) {
  std::vector<std::string> errors;
  auto cfg = checkedConfig(opts, has_code_workers, errors);
  if (!cfg) printRefused(opts, errors);
  return cfg;
}

std::string runDirFor(const CliOptions& opts, bool has_code_workers) {
  if (!opts.config_given && has_code_workers) return DaemonConfig{}.run_dir;
  return readRunDir(opts.config_path);
}

int check(const CliOptions& opts, const std::vector<Worker*>& code_workers) {
  if (!opts.config_given && !code_workers.empty()) {
    std::cout << "no config file given; " << code_workers.size()
              << " worker(s) defined in code, nothing to check\n";
    return 0;
  }
  auto cfg = configFor(opts, false);
  if (!cfg) return 1;
  std::cout
      << opts.config_path
      << ": syntax, keys, values, addresses, files, certificates and upstream hosts are valid\n";
  std::cout << "  daemon: run_dir=" << cfg->daemon.run_dir << " log_file=" << cfg->daemon.log_file
            << " log_level=" << cfg->daemon.log_level << "\n";
  if (cfg->bus.enabled) {
    std::cout << "  bus: node=" << (cfg->bus.node.empty() ? busNode() : cfg->bus.node)
              << " redis=" << (cfg->bus.redis.empty() ? "off" : cfg->bus.redis) << "\n";
  } else {
    std::cout << "  bus: off\n";
  }
  for (const WorkerConfig& w : cfg->workers) {
    std::cout << "  worker " << w.name << ": " << w.listen << " count=" << w.count
              << " app=" << w.app << (w.reuse_port ? " reuse_port" : "");
    if (w.forward) std::cout << " upstream=" << w.forward->upstream;
    std::cout << "\n";
  }
  return 0;
}

std::string absolute(const std::string& dir) {
  char buf[PATH_MAX];
  return ::realpath(dir.c_str(), buf) ? std::string(buf) : dir;
}

int start(const CliOptions& opts, const std::vector<Worker*>& code_workers) {
  auto loaded = configFor(opts, !code_workers.empty());
  if (!loaded) return 1;
  auto cfg = std::make_shared<Config>(std::move(*loaded));
  if (auto ec = daemon::ensureDirectory(cfg->daemon.run_dir, 0755)) {
    std::cerr << "wman: cannot create run_dir " << cfg->daemon.run_dir << ": " << ec.message()
              << "\n";
    return 1;
  }
  cfg->daemon.run_dir = absolute(cfg->daemon.run_dir);
  // Daemonizing changes to "/": reloads must still find the file.
  if (!cfg->path.empty()) cfg->path = absolute(cfg->path);
  auto acquired = daemon::PidFile::acquire(cfg->daemon.run_dir + "/wman.pid");
  if (auto* busy = std::get_if<daemon::PidFileBusy>(&acquired)) {
    std::cerr << "wman: already running, pid " << busy->pid << " (" << cfg->daemon.run_dir
              << "/wman.pid)\n";
    return 1;
  }
  if (auto* ec = std::get_if<std::error_code>(&acquired)) {
    std::cerr << "wman: cannot take the pid file in " << cfg->daemon.run_dir << ": "
              << ec->message() << "\n";
    return 1;
  }
  daemon::PidFile pid_file = std::move(std::get<daemon::PidFile>(acquired));

  // What a service manager handed us; both are taken out of the environment so nothing
  // forked later mistakes them for its own.
  daemon::SystemdNotifier notifier = daemon::SystemdNotifier::fromEnvironment();
  std::vector<std::string> activation_warnings;
  std::vector<daemon::ActivatedSocket> activated =
      daemon::takeActivatedSockets(&activation_warnings);
  // Under systemd (Type=notify) the manager tracks the main process: forking away from it
  // would lose readiness, reload and stop tracking. `-d` is ignored there.
  const bool stay_foreground = opts.daemonize && notifier.enabled();
  daemon::DaemonReadiness readiness;
  if (opts.daemonize && !stay_foreground) {
    // In the background stderr goes nowhere; the log goes next to the pid file instead.
    if (cfg->daemon.log_file == "stderr") cfg->daemon.log_file = cfg->daemon.run_dir + "/wman.log";
    std::error_code ec;
    readiness = daemon::DaemonReadiness::create(ec);
    std::string reason;
    auto wait = cfg->daemon.start_timeout + 5s;
    if (ec ||
        daemon::daemonize(readiness, std::chrono::duration_cast<std::chrono::milliseconds>(wait),
                          &reason)) {
      std::cerr << "wman: cannot daemonize: " << (ec ? ec.message() : reason) << "\n";
      return 1;
    }
    pid_file.claimForThisProcess();
  }
  std::string error;
  if (!configureLogging(cfg->daemon.log_file, cfg->daemon.log_level, &error)) {
    std::string why = "cannot open log " + cfg->daemon.log_file + ": " + error;
    if (readiness.valid()) readiness.reportFailure(why);
    std::cerr << "wman: " << why << "\n";
    return 1;
  }
  if (daemon::setOpenFileLimit(cfg->daemon.rlimit_nofile, &error)) {
    logger().error("rlimit_nofile: {}", error);
    if (readiness.valid()) readiness.reportFailure("rlimit_nofile: " + error);
    return 1;
  }
  logger().info("wman {} master pid {} starting with {}", WMAN_VERSION, ::getpid(),
                cfg->path.empty() ? "workers defined in code" : cfg->path);
  if (stay_foreground) {
    logger().info("started by a service manager (NOTIFY_SOCKET set): not daemonizing");
  }
  for (const std::string& w : activation_warnings) logger().warn("{}", w);
  daemon::MasterOptions mo;
  mo.config = cfg;
  mo.code_workers = code_workers;
  mo.notifier = std::move(notifier);
  mo.activated = std::move(activated);
  mo.on_started = [&readiness](bool ok, const std::string& message) {
    if (!readiness.valid()) return;
    if (ok) {
      readiness.reportReady();
    } else {
      readiness.reportFailure(message);
    }
  };
  daemon::Master master(std::move(mo));
  return master.run();
}

// True (after printing the reason) when the master refused the request: {"ok":false,
// "error":...}, e.g. a bad request or too many control connections.
bool refused(const Json& answer) {
  if (asBool(member(answer, "ok"), true) || !member(answer, "error").is_string()) return false;
  std::cerr << "wman: " << asString(member(answer, "error")) << "\n";
  return true;
}

// Sends one command to the running master of this config.
std::optional<Json> ask(const CliOptions& opts, bool has_code_workers, const Json& request,
                        std::chrono::milliseconds timeout) {
  std::string socket = daemon::Master::controlSocketPath(runDirFor(opts, has_code_workers));
  std::string error;
  auto answer = daemon::controlRequest(socket, request, timeout, &error);
  if (!answer) std::cerr << "wman: " << error << "\n";
  return answer;
}

// True once `pid` has exited: no such process, or a zombie its parent has not reaped yet
// (a daemonized master's parent is init, which may reap late).
bool processGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() &&
         (text[paren + 2] == 'Z' || text[paren + 2] == 'X');
}

// Asks the master to stop and follows its progress lines. The master says how long it gives
// its workers before it kills them (deadline_ms); the CLI waits that long plus
// kStopReapGrace for the kernel to tear the killed workers down, so it never gives up on a
// master that is still keeping its own deadline.
std::optional<Json> askStop(const CliOptions& opts, bool has_code_workers, pid_t pid) {
  const auto socket = daemon::Master::controlSocketPath(runDirFor(opts, has_code_workers));
  auto cutoff = std::chrono::steady_clock::time_point::max();
  auto on_progress = [&](const Json& line) -> std::optional<std::chrono::milliseconds> {
    if (!asBool(member(line, "stopping"))) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    cutoff = std::min(cutoff, now + std::chrono::milliseconds(asInt(member(line, "deadline_ms"))) +
                                  kStopReapGrace);
    return std::chrono::duration_cast<std::chrono::milliseconds>(cutoff - now);
  };
  std::optional<Json> answer;
  auto on_line = [&](Json line) {
    auto next = on_progress(line);
    if (!next) answer = std::move(line);
    return next;
  };
  std::string error;
  if (daemon::controlConversation(socket,
                                  Json::object({{"cmd", "stop"}, {"graceful", opts.graceful}}),
                                  kFirstAnswerWait, on_line, &error)) {
    return answer;
  }
  std::cerr << "wman: " << error << "\n";
  if (cutoff != std::chrono::steady_clock::time_point::max() && !processGone(pid)) {
    std::cerr << "wman: master pid " << pid << " is still stopping " << kStopReapGrace.count()
              << " s after its own deadline\n";
  }
  return std::nullopt;
}

int stop(const CliOptions& opts, bool has_code_workers, bool quiet_if_not_running) {
  std::string run_dir = runDirFor(opts, has_code_workers);
  auto pid = daemon::PidFile::readPid(run_dir + "/wman.pid");
  if (!pid) {
    if (quiet_if_not_running) return 0;
    std::cerr << "wman: not running (no live pid file in " << run_dir << ")\n";
    return 1;
  }
  auto answer = askStop(opts, has_code_workers, *pid);
  if (!answer) return 1;
  if (member(*answer, "error").is_string()) {
    std::cerr << "wman: " << asString(member(*answer, "error")) << "\n";
    return 1;
  }
  if (std::int64_t killed = asInt(member(*answer, "killed")); killed > 0) {
    std::cerr << "wman: " << killed
              << " worker(s) still running at the stop deadline were killed\n";
  }
  DaemonConfig d;
  if (opts.config_given || !has_code_workers) {
    ConfigResult r = load(opts.config_path, false);
    if (r.ok()) d = r.config->daemon;
  }
  // The master answers once its workers are gone; wait for the master itself to exit.
  auto deadline = std::chrono::steady_clock::now() + d.stop_timeout + 5s;
  while (!processGone(*pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // no event tells us when an unrelated process exits
  }
  if (!processGone(*pid)) {
    std::cerr << "wman: master pid " << *pid << " still running after stop\n";
    return 1;
  }
  if (!asBool(member(*answer, "ok"), true)) {
    std::cerr << "wman: master pid " << *pid << " exited with status "
              << asInt(member(*answer, "exit_status")) << "\n";
    return 1;
  }
  std::cout << "wman stopped (pid " << *pid << ")\n";
  return 0;
}

int reload(const CliOptions& opts, bool has_code_workers) {
  // A broken config still goes to the master: it refuses it with the same file:line
  // messages, logs the refusal and records it as last_reload for `status`.
  std::vector<std::string> local_errors;
  DaemonConfig d;
  if (opts.config_given || !has_code_workers) {
    if (auto cfg = checkedConfig(opts, has_code_workers, local_errors)) d = cfg->daemon;
  }
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(d.start_timeout + 10s);
  auto answer = ask(opts, has_code_workers,
                    Json::object({{"cmd", "reload"}, {"graceful", opts.graceful}}), timeout);
  if (!answer) {
    if (!local_errors.empty()) printRefused(opts, local_errors);
    return 1;
  }
  if (!asBool(member(*answer, "ok"))) {
    for (const Json& e : elements(member(*answer, "errors"))) std::cerr << asString(e) << "\n";
    std::cerr << "wman: " << asString(member(*answer, "error")) << "\n";
    return 1;
  }
  std::cout << "wman reloaded: " << asString(member(*answer, "message")) << "\n";
  return 0;
}

int status(const CliOptions& opts, bool has_code_workers) {
  // A config the master could not load is worth saying even when the master answers: it
  // runs an earlier version of the file, and the next reload will be refused.
  std::vector<std::string> errors;
  if (opts.config_given || !has_code_workers) {
    ConfigResult r = load(opts.config_path, false);
    for (const ConfigError& e : r.errors) errors.push_back(e.format());
  }
  if (!errors.empty()) printRefused(opts, errors);
  auto answer = ask(opts, has_code_workers, Json::object({{"cmd", "status"}}), kFirstAnswerWait);
  if (!answer) {
    if (!errors.empty()) {
      std::cerr << "wman: the master was looked for in run_dir "
                << runDirFor(opts, has_code_workers) << "; if " << opts.config_path
                << " cannot be parsed that is only the default\n";
    }
    return 1;
  }
  if (refused(*answer)) return 1;
  if (opts.json) {
    std::cout << daemon::dumpJson(*answer) << "\n";
  } else {
    std::cout << daemon::formatStatus(*answer);
  }
  return 0;
}

// Prints which workers did not finish their part of a `connections` answer; true if any.
bool reportMissing(const Json& summary) {
  const Json& missing = elements(member(summary, "missing"));
  if (missing.empty()) return false;
  std::cerr << "wman: " << missing.size() << " of " << asInt(member(summary, "workers"))
            << " worker process(es) did not answer within " << asInt(member(summary, "timeout_ms"))
            << " ms; their connections are missing or incomplete:\n";
  for (const Json& m : missing) {
    std::cerr << "  worker " << asString(member(m, "worker")) << " slot "
              << asInt(member(m, "slot")) << " pid " << asInt(member(m, "pid")) << ": "
              << asString(member(m, "reason")) << "\n";
  }
  return true;
}

// `wman connections`: pages of rows arrive one line each, then a summary naming every worker
// that did not answer in time. --json prints one document {"connections":[...],
// "summary":{...}} as the pages arrive; the table needs every row for its column widths.
int connections(const CliOptions& opts, bool has_code_workers) {
  Json request = Json::object({{"cmd", "connections"}});
  auto wait = std::chrono::milliseconds(daemon::kConnectionsTimeoutMs);
  if (opts.timeout_s > 0) {
    wait = std::chrono::milliseconds(std::llround(opts.timeout_s * 1000.0));
    request["timeout_ms"] = static_cast<std::int64_t>(wait.count());
  }
  Json rows = Json::array();
  std::optional<Json> summary;
  std::string refusal;
  bool opened = false;
  // The master sends its summary at its deadline at the latest; the margin covers the rest.
  const auto cutoff = std::chrono::steady_clock::now() + wait + 10s;
  auto on_line = [&](Json line) -> std::optional<std::chrono::milliseconds> {
    if (asBool(member(line, "done"))) {
      summary = std::move(line);
      return std::nullopt;
    }
    if (member(line, "error").is_string()) {
      refusal = asString(member(line, "error"));
      return std::nullopt;
    }
    for (const Json& r : elements(member(line, "connections"))) {
      if (!opts.json) {
        rows.push_back(r);
        continue;
      }
      std::cout << (opened ? "," : "{\"connections\":[") << daemon::dumpJson(r);
      opened = true;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(cutoff -
                                                                 std::chrono::steady_clock::now());
  };
  std::string socket = daemon::Master::controlSocketPath(runDirFor(opts, has_code_workers));
  std::string error;
  if (!daemon::controlConversation(socket, request, wait + 10s, on_line, &error)) {
    if (opened) std::cout << "\n";
    std::cerr << "wman: " << error << "\n";
    return 1;
  }
  if (!summary) {
    std::cerr << "wman: " << refusal << "\n";
    return 1;
  }
  if (opts.json) {
    std::cout << (opened ? "" : "{\"connections\":[")
              << "],\"summary\":" << daemon::dumpJson(*summary) << "}\n";
  } else {
    std::cout << daemon::formatConnections(Json::object({{"connections", std::move(rows)}}));
  }
  return reportMissing(*summary) ? 1 : 0;
}

// `wman send`: exit 0 once the bus process has the message (delivery is at most once and
// not confirmed: the receivers may be anywhere).
int send(const CliOptions& opts, bool has_code_workers) {
  Json request = Json::object({{"cmd", "send"},
                               {"target", opts.send_target},
                               {"name", opts.send_name},
                               {"data", opts.message}});
  auto answer = ask(opts, has_code_workers, request, kFirstAnswerWait);
  return !answer || refused(*answer) ? 1 : 0;
}

}  // namespace

int runAll(int argc, char** argv) {
  try {
    // Writes to a peer that went away must fail with EPIPE, not kill the process.
    ::signal(SIGPIPE, SIG_IGN);
    // Workers built from the config register themselves too; take the code-defined ones now.
    const std::vector<Worker*> code_workers = Worker::all();
    const bool has_code = !code_workers.empty();
    int exit_code = 0;
    auto opts = daemon::parseCli(argc, argv, has_code ? "" : kDefaultConfig, exit_code);
    if (!opts) return exit_code;
    const std::string& verb = opts->verb;
    if (verb == "check") return check(*opts, code_workers);
    if (verb == "start") return start(*opts, code_workers);
    if (verb == "stop") return stop(*opts, has_code, false);
    if (verb == "restart") {
      if (int rc = stop(*opts, has_code, true)) return rc;
      return start(*opts, code_workers);
    }
    if (verb == "reload") return reload(*opts, has_code);
    if (verb == "status") return status(*opts, has_code);
    if (verb == "connections") return connections(*opts, has_code);
    if (verb == "send") return send(*opts, has_code);
    std::cerr << "wman: unknown verb " << verb << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "wman: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace wman
