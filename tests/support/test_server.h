// Runs Workers in-process on their own event loop thread, for integration tests: start,
// act on the loop thread with onLoop(), stop and join on destruction.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "detail/event_loop.h"
#include "detail/worker_runtime.h"
#include "wman/worker.h"

namespace wman::test {

class TestServer {
 public:
  // Starts every worker (binding its URL, usually port 0) and returns once all listen.
  // Throws std::runtime_error if one cannot start.
  explicit TestServer(std::vector<Worker*> workers) : workers_(std::move(workers)) {
    std::promise<std::string> started;
    auto ready = started.get_future();
    thread_ = std::thread([this, &started] {
      detail::EventLoop loop;
      loop_ = &loop;
      for (Worker* w : workers_) {
        if (auto ec = w->runtime().start(loop)) {
          for (Worker* s : workers_) {
            if (s == w) break;
            s->runtime().stop(false, nullptr);
          }
          started.set_value(w->url() + ": " + ec.message());
          return;
        }
      }
      started.set_value("");
      loop.run();
      // A loop may end by itself (a test's own graceful stop left nothing to run).
      std::lock_guard<std::mutex> lock(loop_mutex_);
      loop_ = nullptr;
    });
    std::string error = ready.get();
    if (!error.empty()) {
      thread_.join();
      throw std::runtime_error("TestServer: " + error);
    }
  }

  ~TestServer() { stop(); }

  // Runs `fn` on the loop thread and waits for it.
  template <typename Fn>
  auto onLoop(Fn fn) -> decltype(fn()) {
    using R = decltype(fn());
    std::packaged_task<R()> task(std::move(fn));
    auto result = task.get_future();
    loop_->post([&task] { task(); });
    return result.get();
  }

  // Runs `fn` on the calling thread while the loop is blocked in a posted task, then lets
  // the loop go (also when `fn` throws): whatever `fn` makes peers send or connect is all
  // waiting when the loop next polls, which makes batching deterministic.
  template <typename Fn>
  void whileLoopHeld(Fn fn) {
    std::promise<void> held, release;
    std::shared_future<void> gate = release.get_future().share();
    loop_->post([&held, gate] {
      held.set_value();
      gate.wait();
    });
    held.get_future().wait();
    struct Release {
      std::promise<void>& p;
      ~Release() { p.set_value(); }
    } release_on_exit{release};
    fn();
  }

  // Stops every worker (graceful or not), ends the loop and joins the thread.
  void stop(bool graceful = false) {
    if (!thread_.joinable()) return;
    std::unique_lock<std::mutex> lock(loop_mutex_);
    if (!loop_) {
      lock.unlock();
      thread_.join();
      return;
    }
    loop_->post([this, graceful] {
      auto pending = std::make_shared<std::size_t>(workers_.size());
      for (Worker* w : workers_) {
        w->runtime().stop(graceful, [this, pending] {
          if (--*pending == 0) loop_->shutdown();
        });
      }
    });
    lock.unlock();
    thread_.join();
  }

 private:
  std::vector<Worker*> workers_;
  detail::EventLoop* loop_ = nullptr;
  std::mutex loop_mutex_;  // guards loop_ against the loop thread clearing it
  std::thread thread_;
};

}  // namespace wman::test
