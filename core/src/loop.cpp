#include "wman/loop.h"

#include <uv.h>

#include <map>

#include "detail/event_loop.h"
#include "detail/worker_runtime.h"

namespace wman {

struct Loop::Signals {
  struct Watch {
    uv_signal_t handle;
    std::function<void(int)> callback;
  };
  std::map<int, Watch*> watches;
};

Loop::Loop()
    : loop_(std::make_unique<detail::EventLoop>()), signals_(std::make_unique<Signals>()) {}

Loop::~Loop() {
  shutdown();
  loop_.reset();  // runs the close callbacks, which free the signal watches
}

void Loop::run() {
  loop_->run();
}

void Loop::shutdown() {
  for (auto& [signum, w] : signals_->watches) {
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle),
             [](uv_handle_t* h) { delete static_cast<Signals::Watch*>(h->data); });
  }
  signals_->watches.clear();
  loop_->shutdown();
}

void Loop::post(std::function<void()> fn) {
  loop_->post(std::move(fn));
}

void Loop::onSignal(int signum, std::function<void(int)> callback) {
  auto it = signals_->watches.find(signum);
  if (it != signals_->watches.end()) {
    it->second->callback = std::move(callback);
    return;
  }
  auto* w = new Signals::Watch{{}, std::move(callback)};
  uv_signal_init(loop_->raw(), &w->handle);
  w->handle.data = w;
  uv_signal_start(
      &w->handle,
      [](uv_signal_t* h, int sig) {
        auto* watch = static_cast<Signals::Watch*>(h->data);
        watch->callback(sig);
      },
      signum);
  // Watching a signal must not keep the loop alive by itself.
  uv_unref(reinterpret_cast<uv_handle_t*>(&w->handle));
  signals_->watches.emplace(signum, w);
}

void Loop::ignoreSignal(int signum) {
  auto it = signals_->watches.find(signum);
  if (it == signals_->watches.end()) return;
  Signals::Watch* w = it->second;
  signals_->watches.erase(it);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle),
           [](uv_handle_t* h) { delete static_cast<Signals::Watch*>(h->data); });
}

std::error_code Loop::startWorker(Worker& worker, int listen_fd) {
  return worker.runtime().start(*loop_, listen_fd);
}

void Loop::stopWorker(Worker& worker, bool graceful, std::function<void()> done) {
  worker.runtime().stop(graceful, std::move(done));
}

std::error_code Loop::addListener(Worker& worker, int listen_fd) {
  return worker.runtime().addListener(listen_fd);
}

void Loop::drainWorker(Worker& worker, std::function<void()> done) {
  worker.runtime().drain(std::move(done));
}

Connection* Loop::adopt(Worker& worker, int fd, std::error_code& ec) {
  return worker.runtime().adopt(fd, ec);
}

std::uint64_t Loop::now() const {
  return loop_->now();
}

}  // namespace wman
