// One libuv loop per worker process (or per test thread), created fresh after fork.
// Besides the loop it owns what every connection on it shares: the read buffer, the list of
// connections with writes to flush, and the timers.
#pragma once

#include <sys/epoll.h>
#include <uv.h>

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "detail/buffer_pool.h"
#include "wman/timer.h"

namespace wman::detail {

class ConnectionImpl;
class OutboundHost;

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // The loop running on the calling thread, or nullptr.
  static EventLoop* current();

  uv_loop_t* raw() { return &loop_; }
  std::uint64_t now() const { return uv_now(&loop_); }

  // Runs until no socket is watched, no pass has work left and libuv has no active handle
  // (see shutdown()). Makes this loop current() meanwhile.
  //
  // The loop drives libuv, not the other way round: one epoll_wait per wake-up covers the
  // connections' sockets and libuv's own backend fd, and libuv iterates (UV_RUN_NOWAIT) only
  // when its fd is ready, a timer is due, or it has work queued. A wake-up for socket
  // traffic alone then costs one system call instead of libuv's poll, the sockets' poll and
  // libuv's phases, which at one message per wake-up were most of a message's cost.
  void run();

  // Closes every handle still open (listeners and connections should be closed first, so
  // their callbacks run in order), letting run() return.
  void shutdown();

  // Thread-safe: runs `fn` on the loop's thread during its next iteration. Used to stop a
  // loop from outside and by tests to act inside a running worker.
  void post(std::function<void()> fn);

  // All sends made during one iteration are written once, just before the loop polls.
  void scheduleFlush(ConnectionImpl* c);
  // Counts output queued on any connection through the flush pass (scheduled or already
  // on the list). A connection replying to its own input writes at once only if this did
  // not move meanwhile: otherwise what the input queued for others (a bus message, a
  // broadcast) must go first, in order, and the reply follows it in the flush pass.
  void noteQueued() { ++queued_; }
  std::uint64_t queued() const { return queued_; }
  void cancelFlush(ConnectionImpl* c);

  // Something with work batched over a pass (a UDP endpoint's datagrams), done at the end
  // of the pass, before the loop waits again. libuv's prepare hooks would not do: libuv
  // iterates only when it has work of its own (see run()).
  class PassEnd {
   public:
    virtual void passEnded() = 0;

   protected:
    ~PassEnd() = default;
  };
  // `p` runs once at the end of this pass (of the next one when added from that end).
  // The caller tracks whether it is already due; cancel before destroying it.
  void atPassEnd(PassEnd* p) { pass_ends_.push_back(p); }
  void cancelPassEnd(PassEnd* p);

  // Fairness: a connection that spent its read budget for this pass continues at the start
  // of the next one (before that pass's flush), after every other connection's reads of
  // this pass. The loop does not block in poll while one waits.
  void scheduleContinue(ConnectionImpl* c);
  void cancelContinue(ConnectionImpl* c);
  // Counts loop passes (iterations); a connection's read budget is per pass.
  std::uint64_t pass() const { return pass_; }

  // Connections' sockets are watched in the loop's own epoll set (which also holds libuv's
  // backend fd, see run()), so a connection needs no libuv handle (160 bytes or more each)
  // but an fd and two bits. Moves `fd`'s interest from `before` to `after` (EPOLLIN,
  // EPOLLOUT; 0 = not watched); its events go to c->socketEvents(). 0 or a negative libuv
  // error.
  int watch(int fd, ConnectionImpl* c, std::uint32_t before, std::uint32_t after);
  // `c` closed its socket. It is finished (ConnectionImpl::finishClose: onClose, then
  // freed) after the batch of events being handled, which may still name it, and before
  // the loop waits again.
  void retire(ConnectionImpl* c);

  // Shared by all connections: reads land here and are decoded in place; only an
  // incomplete tail is copied into the connection.
  std::span<char> readBuffer() { return {read_buffer_.get(), kReadBufferSize}; }
  // Shared by all connections: storage for the bytes a connection holds between passes.
  BufferPool& buffers() { return buffers_; }
  // The output of the one connection whose input is being handled (ConnectionImpl's
  // cork, `owner`): what it sends meanwhile gathers here and goes to the kernel as soon as
  // the input is handled, so a connection whose replies are written at once never takes
  // an output buffer of its own, nor the block that holds it (connection_held.cpp).
  struct Cork {
    std::string data;
    const ConnectionImpl* owner = nullptr;
  };
  Cork& cork() { return cork_; }
  // What the cork keeps between uses; the storage of a larger reply is freed.
  static constexpr std::size_t kCorkKeep = 256 * 1024;

  // The host of this loop's outbound connections (AsyncConnection), created on first use;
  // nullptr once shutdown() began.
  OutboundHost* outboundHost();

  // Timers (wman::Timer forwards here).
  TimerId addTimer(std::uint64_t interval_ms, std::function<void()> cb, bool persistent);
  bool delTimer(TimerId id);
  void delAllTimers();
  std::size_t timerCount() const { return timers_.size(); }

  static constexpr std::size_t kReadBufferSize = 64 * 1024;
  // Most connections one pass flushes (one write each); the rest go in the next pass.
  static constexpr std::size_t kFlushBatch = 1024;
  // Socket events taken from the epoll set at a time; more wait for the next pass.
  static constexpr std::size_t kEventBatch = 1024;

 private:
  struct TimerEntry;
  static void onAsync(uv_async_t* handle);
  static void onTimer(uv_timer_t* handle);
  // What happens before each wait: reads carried over, sends flushed, pass-end work done,
  // closed connections finished.
  void endPass();
  void flushAll();
  void continueAll();
  void runPassEnds();
  void finishRetired();
  // Work of this loop's own that must not wait for an event.
  bool passWorkLeft() const {
    return !continue_list_.empty() || !flush_list_.empty() || !retired_.empty() ||
           !pass_ends_.empty();
  }
  // One wait and what it brought; false once nothing is left to wait for.
  bool turn();
  // libuv has something to do without its fd being ready: a due timer, a pending or idle
  // callback, a closing handle, or a watcher started outside its poll phase (a listener
  // resumed in a connection's callback), which libuv gives to its epoll set only when it
  // next polls. uv_backend_timeout() is 0 for each.
  bool libuvDue();

  uv_loop_t loop_{};
  uv_async_t async_{};
  // Keeps libuv alive (uv_run does nothing on a loop without active handles) while a socket
  // is watched. An async handle is active from init and costs nothing per iteration.
  uv_async_t anchor_{};
  std::unique_ptr<char[]> read_buffer_;
  BufferPool buffers_;
  Cork cork_;
  EventLoop* previous_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::vector<ConnectionImpl*> flush_list_;
  std::vector<ConnectionImpl*> flushing_;
  std::vector<ConnectionImpl*> continue_list_;
  std::vector<ConnectionImpl*> continuing_;
  std::vector<PassEnd*> pass_ends_;
  std::vector<PassEnd*> ending_;
  std::uint64_t pass_ = 0;
  std::uint64_t queued_ = 0;
  int epoll_fd_ = -1;        // the sockets and libuv's backend fd
  std::size_t watched_ = 0;  // sockets in the epoll set
  std::unique_ptr<epoll_event[]> events_;
  std::vector<ConnectionImpl*> retired_;
  std::unordered_map<TimerId, TimerEntry*> timers_;
  TimerId next_timer_id_ = 0;
  std::unique_ptr<OutboundHost> outbound_;
  bool closed_ = false;
};

}  // namespace wman::detail
