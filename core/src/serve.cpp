#include "wman/serve.h"

#include <csignal>
#include <cstring>

#include "detail/log.h"
#include "wman/loop.h"
#include "wman/timer.h"

namespace wman {
namespace {

// Serves workers on one loop until a signal, then stops them all: gracefully (bounded by
// stop_timeout) on SIGTERM/SIGQUIT, at once on SIGINT.
class InProcessServer {
 public:
  InProcessServer(std::vector<Worker*> workers, ServeOptions options)
      : workers_(std::move(workers)), options_(options) {}

  int run() {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      Worker* w = workers_[i];
      if (auto ec = loop_.startWorker(*w)) {
        detail::log().error("worker {}: cannot listen on {}: {}", w->name, w->url(), ec.message());
        for (std::size_t j = 0; j < i; ++j) loop_.stopWorker(*workers_[j], false, nullptr);
        return 1;
      }
    }
    auto on_signal = [this](int signum) {
      detail::log().info("received signal {} ({}); stopping", signum, strsignal(signum));
      stop(signum != SIGINT);
    };
    loop_.onSignal(SIGINT, on_signal);
    loop_.onSignal(SIGTERM, on_signal);
    loop_.onSignal(SIGQUIT, on_signal);
    detail::log().info("wman serving {} worker(s) in one process", workers_.size());
    loop_.run();
    detail::log().info("wman stopped");
    return 0;
  }

 private:
  // A second signal during a graceful stop (say SIGINT after SIGTERM) makes it fast.
  void stop(bool graceful) {
    if (stopping_) {
      if (!graceful) dropAll();
      return;
    }
    stopping_ = true;
    pending_ = workers_.size();
    for (Worker* w : workers_) {
      loop_.stopWorker(*w, graceful, [this] {
        if (--pending_ == 0) loop_.shutdown();
      });
    }
    if (graceful && pending_ > 0) {
      Timer::add(
          static_cast<double>(options_.stop_timeout.count()) / 1000.0,
          [this] {
            detail::log().warn("stop_timeout reached; dropping remaining connections");
            dropAll();
          },
          false);
    }
  }

  void dropAll() {
    for (Worker* w : workers_) loop_.stopWorker(*w, false, nullptr);
  }

  Loop loop_;
  std::vector<Worker*> workers_;
  ServeOptions options_;
  std::size_t pending_ = 0;
  bool stopping_ = false;
};

}  // namespace

int serveInProcess(const std::vector<Worker*>& workers, const ServeOptions& options) {
  InProcessServer server(workers, options);
  return server.run();
}

}  // namespace wman
