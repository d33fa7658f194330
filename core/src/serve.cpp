#include "wman/serve.h"

#include <uv.h>

#include <csignal>
#include <cstring>
#include <memory>

#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/worker_runtime.h"

namespace wman {
namespace {

// Stops every runtime, then the loop, bounded by a deadline after which what is left is
// dropped. Signal handlers only call in here from the loop (uv_signal_t), never from a
// real signal context.
class InProcessServer {
 public:
  InProcessServer(std::vector<Worker*> workers, ServeOptions options)
      : workers_(std::move(workers)), options_(options) {}

  int run() {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      Worker* w = workers_[i];
      if (auto ec = w->runtime().start(loop_)) {
        detail::log().error("worker {}: cannot listen on {}: {}", w->name, w->url(), ec.message());
        for (std::size_t j = 0; j < i; ++j) workers_[j]->runtime().stop(false, [] {});
        return 1;
      }
    }
    watch(SIGINT, false);
    watch(SIGTERM, true);
    watch(SIGQUIT, true);
    detail::log().info("wman serving {} worker(s) in one process", workers_.size());
    loop_.run();
    detail::log().info("wman stopped");
    return 0;
  }

 private:
  struct SignalWatch {
    uv_signal_t handle;
    InProcessServer* server;
    bool graceful;
  };

  void watch(int signum, bool graceful) {
    auto& w = signals_.emplace_back(new SignalWatch{{}, this, graceful});
    uv_signal_init(loop_.raw(), &w->handle);
    w->handle.data = w.get();
    uv_signal_start(
        &w->handle,
        [](uv_signal_t* h, int signum) {
          auto* self = static_cast<SignalWatch*>(h->data);
          detail::log().info("received signal {} ({}); stopping", signum, strsignal(signum));
          self->server->stop(self->graceful);
        },
        signum);
  }

  // A second signal during a graceful stop (say SIGINT after SIGTERM) makes it fast.
  void stop(bool graceful) {
    if (stopping_) {
      if (!graceful) dropAll();
      return;
    }
    stopping_ = true;
    pending_ = workers_.size();
    for (Worker* w : workers_) {
      w->runtime().stop(graceful, [this] {
        if (--pending_ == 0) loop_.shutdown();
      });
    }
    if (graceful && pending_ > 0) {
      loop_.addTimer(
          static_cast<std::uint64_t>(options_.stop_timeout.count()),
          [this] {
            detail::log().warn("stop_timeout reached; dropping remaining connections");
            dropAll();
          },
          false);
    }
  }

  void dropAll() {
    for (Worker* w : workers_) w->runtime().stop(false, nullptr);
  }

  detail::EventLoop loop_;
  std::vector<Worker*> workers_;
  ServeOptions options_;
  std::vector<std::unique_ptr<SignalWatch>> signals_;
  std::size_t pending_ = 0;
  bool stopping_ = false;
};

}  // namespace

int serveInProcess(const std::vector<Worker*>& workers, const ServeOptions& options) {
  InProcessServer server(workers, options);
  return server.run();
}

}  // namespace wman
