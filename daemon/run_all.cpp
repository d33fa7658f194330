// wman::runAll(): the CLI verbs of docs/operations.md on top of the config loader and the
// in-process runtime.
#include <iostream>
#include <memory>
#include <vector>

#include "cli.h"
#include "wman/app_module.h"
#include "wman/config.h"
#include "wman/logging.h"
#include "wman/run.h"
#include "wman/serve.h"
#include "wman/worker.h"

namespace wman {
namespace {

constexpr const char* kDefaultConfig = "/etc/wman/wman.toml";

ConfigResult load(const std::string& path) {
  ConfigCheck check;
  check.check_files = true;
  check.builtin_apps = builtinAppNames();
  return loadConfig(path, check);
}

void printErrors(const ConfigResult& result) {
  for (const ConfigError& e : result.errors) std::cerr << e.format() << "\n";
}

int check(const daemon::CliOptions& opts, const std::vector<Worker*>& code_workers) {
  if (!opts.config_given && !code_workers.empty()) {
    std::cout << "no config file given; " << code_workers.size()
              << " worker(s) defined in code, nothing to check\n";
    return 0;
  }
  ConfigResult result = load(opts.config_path);
  if (!result.ok()) {
    printErrors(result);
    std::cerr << opts.config_path << ": " << result.errors.size() << " error(s); config refused\n";
    return 1;
  }
  const Config& cfg = *result.config;
  std::cout << opts.config_path << ": syntax, keys, values, addresses and files are valid\n";
  std::cout << "  daemon: run_dir=" << cfg.daemon.run_dir << " log_file=" << cfg.daemon.log_file
            << " log_level=" << cfg.daemon.log_level << "\n";
  for (const WorkerConfig& w : cfg.workers) {
    std::cout << "  worker " << w.name << ": " << w.listen << " count=" << w.count
              << " app=" << w.app << (w.reuse_port ? " reuse_port" : "") << "\n";
  }
  return 0;
}

// Builds a Worker for one [[worker]] table and gives it its app.
std::unique_ptr<Worker> makeWorker(const WorkerConfig& wc, std::string& error) {
  auto w = std::make_unique<Worker>(wc.listen);
  w->name = wc.name;
  w->count = wc.count;
  w->reusePort = wc.reuse_port;
  w->limits = wc.limits;
  w->options = wc.options;
  if (installBuiltinApp(wc.app, *w)) return w;
  if (!loadAppModule(wc.app, *w, &error)) return nullptr;
  return w;
}

int start(const daemon::CliOptions& opts, const std::vector<Worker*>& code_workers) {
  Config cfg;
  if (opts.config_given || code_workers.empty()) {
    ConfigResult result = load(opts.config_path);
    if (!result.ok()) {
      printErrors(result);
      std::cerr << opts.config_path << ": config refused, not starting\n";
      return 1;
    }
    cfg = std::move(*result.config);
  }
  std::string error;
  if (!configureLogging(cfg.daemon.log_file, cfg.daemon.log_level, &error)) {
    std::cerr << "wman: cannot open log " << cfg.daemon.log_file << ": " << error << "\n";
    return 1;
  }
  std::vector<Worker*> workers = code_workers;
  std::vector<std::unique_ptr<Worker>> owned;
  for (const WorkerConfig& wc : cfg.workers) {
    auto w = makeWorker(wc, error);
    if (!w) {
      std::cerr << cfg.path << ":" << wc.line << ": worker " << wc.name << ": " << error << "\n";
      return 1;
    }
    workers.push_back(w.get());
    owned.push_back(std::move(w));
  }
  ServeOptions options;
  options.stop_timeout = cfg.daemon.stop_timeout;
  return serveInProcess(workers, options);
}

}  // namespace

int runAll(int argc, char** argv) {
  try {
    // Workers built from the config register themselves too; take the code-defined ones now.
    const std::vector<Worker*> code_workers = Worker::all();
    int exit_code = 0;
    auto opts =
        daemon::parseCli(argc, argv, code_workers.empty() ? kDefaultConfig : "", exit_code);
    if (!opts) return exit_code;
    if (opts->verb == "check") return check(*opts, code_workers);
    return start(*opts, code_workers);
  } catch (const std::exception& e) {
    std::cerr << "wman: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace wman
