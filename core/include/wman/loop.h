// The calling process's event loop, for programs that run their own process model: wman's
// master and worker processes use it, and so can an embedder. One per process (or thread).
#pragma once

#include <functional>
#include <memory>
#include <system_error>

#include "wman/connection.h"
#include "wman/worker.h"

namespace wman {

namespace detail {
class EventLoop;
}

class Loop {
 public:
  // Creates a fresh loop. It is the calling thread's current loop from now on, so
  // wman::Timer works on it, even before run().
  Loop();
  // Closes what is still open and releases the loop.
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs callbacks until shutdown() has closed everything.
  void run();
  // Closes every handle still open (signal watches, timers, workers' listeners) so run()
  // returns; stop workers first (stopWorker) to close their connections in order.
  void shutdown();
  // Thread-safe: runs `fn` on the loop during its next iteration.
  void post(std::function<void()> fn);

  // Runs `callback(signum)` on the loop each time `signum` arrives (through libuv, never in a
  // signal context). A second call for the same signal replaces the callback.
  void onSignal(int signum, std::function<void(int)> callback);
  // Stops watching `signum`; its disposition goes back to what it was.
  void ignoreSignal(int signum);

  // Serves `worker` on this loop: binds its URL, or adopts `listen_fd` (a socket already
  // bound, e.g. inherited from a master) when >= 0; runs onWorkerStart; then accepts.
  std::error_code startWorker(Worker& worker, int listen_fd = -1);
  // Stops accepting, runs onWorkerStop, closes the worker's connections (flushing them when
  // `graceful`); `done` runs once the last one is gone. Call again with graceful = false and
  // a null `done` to cut a graceful stop short.
  void stopWorker(Worker& worker, bool graceful, std::function<void()> done);
  // Also accepts for a started `worker` from `listen_fd`, another inherited socket of the
  // same address (a worker process serving several SO_REUSEPORT sockets of one group).
  std::error_code addListener(Worker& worker, int listen_fd);
  // Stops accepting and runs onWorkerStop, but leaves connections to end by themselves;
  // `done` runs when the last one is gone. stopWorker() cuts the drain short.
  void drainWorker(Worker& worker, std::function<void()> done);
  // Makes `fd`, a connected stream socket (a socketpair end, say), a connection of
  // `worker`, which must be started on this loop. onConnect runs; returns nullptr and sets
  // `ec` on failure, leaving `fd` to the caller.
  Connection* adopt(Worker& worker, int fd, std::error_code& ec);

  // Milliseconds of the loop's clock (cached per iteration).
  std::uint64_t now() const;

 private:
  struct Signals;
  std::unique_ptr<detail::EventLoop> loop_;
  std::unique_ptr<Signals> signals_;
};

}  // namespace wman
