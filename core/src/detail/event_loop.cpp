#include "detail/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "detail/connection_impl.h"
#include "detail/log.h"
#include "detail/outbound_host.h"

namespace wman::detail {
namespace {
thread_local EventLoop* t_current = nullptr;

// The loop's work lists come in pairs: the list being filled and the one being run. A
// cancelled entry becomes nullptr in either, so a round in progress skips it.
template <typename T>
void cancelIn(std::vector<T*>& filling, std::vector<T*>& running, T* entry) {
  std::replace(filling.begin(), filling.end(), entry, static_cast<T*>(nullptr));
  std::replace(running.begin(), running.end(), entry, static_cast<T*>(nullptr));
}

// Runs `fn` once on each entry `filling` holds now; entries added meanwhile wait in it for
// the next round.
template <typename T, typename Fn>
void runRound(std::vector<T*>& filling, std::vector<T*>& running, Fn fn) {
  running.swap(filling);
  for (std::size_t i = 0; i < running.size(); ++i) {
    if (T* entry = running[i]) fn(entry);
  }
  running.clear();
}
}  // namespace

struct EventLoop::TimerEntry {
  uv_timer_t handle;
  EventLoop* owner;
  TimerId id;
  std::function<void()> callback;
  bool persistent;
};

EventLoop::EventLoop() : read_buffer_(new char[kReadBufferSize]), previous_(t_current) {
  // Current from construction on, so onWorkerStart (run before the loop spins) can add timers.
  t_current = this;
  int rc = uv_loop_init(&loop_);
  if (rc != 0) throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
  uv_async_init(&loop_, &async_, &EventLoop::onAsync);
  async_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
  uv_async_init(&loop_, &anchor_, [](uv_async_t*) {});
  uv_unref(reinterpret_cast<uv_handle_t*>(&anchor_));
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0)
    throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  events_.reset(new epoll_event[kEventBatch]);
  // libuv's own descriptors (timers aside) are behind its backend fd; it is the one entry
  // of the set without a connection.
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, uv_backend_fd(&loop_), &ev) != 0)
    throw std::runtime_error(std::string("epoll_ctl(libuv): ") + std::strerror(errno));
}

EventLoop::~EventLoop() {
  shutdown();
  uv_run(&loop_, UV_RUN_DEFAULT);
  finishRetired();
  outbound_.reset();  // its links and handles were closed by the run above
  ::close(epoll_fd_);
  if (uv_loop_close(&loop_) != 0) log().warn("event loop closed with handles still open");
  if (t_current == this) t_current = previous_;
}

EventLoop* EventLoop::current() {
  return t_current;
}

void EventLoop::run() {
  EventLoop* outer = t_current;
  t_current = this;
  while (turn()) {
  }
  t_current = outer;
}

bool EventLoop::turn() {
  endPass();
  const bool pass_work = passWorkLeft();
  if (!pass_work && !uv_loop_alive(&loop_)) return false;
  // libuv's timeout: its next timer, -1 for none, or 0 while it has work of its own.
  const int timeout = pass_work ? 0 : uv_backend_timeout(&loop_);
  int n = ::epoll_wait(epoll_fd_, events_.get(), kEventBatch, timeout);
  if (n < 0) {
    if (errno != EINTR)
      throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
    n = 0;
  }
  bool libuv_ready = false;
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events_[i];
    if (ev.data.ptr == nullptr) {
      libuv_ready = true;
    } else {
      static_cast<ConnectionImpl*>(ev.data.ptr)->socketEvents(ev.events);
    }
  }
  finishRetired();
  if (libuv_ready || libuvDue()) uv_run(&loop_, UV_RUN_NOWAIT);
  return true;
}

bool EventLoop::libuvDue() {
  // The clock as of now, not as of libuv's last iteration: a timer due during the wait
  // would otherwise seem as far away as before it.
  uv_update_time(&loop_);
  return uv_backend_timeout(&loop_) == 0;
}

void EventLoop::shutdown() {
  if (closed_) return;
  closed_ = true;
  // Outbound links first, through their own close path, so none is left to the walk.
  if (outbound_) outbound_->shutdown();
  delAllTimers();
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
}

OutboundHost* EventLoop::outboundHost() {
  if (closed_) return nullptr;
  if (!outbound_) outbound_ = std::make_unique<OutboundHost>(*this);
  return outbound_.get();
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void EventLoop::onAsync(uv_async_t* handle) {
  auto* self = static_cast<EventLoop*>(handle->data);
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(self->posted_mutex_);
    work.swap(self->posted_);
  }
  for (auto& fn : work) fn();
}

void EventLoop::scheduleFlush(ConnectionImpl* c) {
  // A pending flush keeps the loop alive (passWorkLeft): otherwise a loop whose last socket
  // just went quiet (a connection that stopped reading to close) would end before writing
  // what that connection queued.
  flush_list_.push_back(c);
}

void EventLoop::cancelFlush(ConnectionImpl* c) {
  cancelIn(flush_list_, flushing_, c);
}

void EventLoop::scheduleContinue(ConnectionImpl* c) {
  continue_list_.push_back(c);
}

void EventLoop::cancelPassEnd(PassEnd* p) {
  cancelIn(pass_ends_, ending_, p);
}

int EventLoop::watch(int fd, ConnectionImpl* c, std::uint32_t before, std::uint32_t after) {
  if (before == after) return 0;
  epoll_event ev{};
  ev.events = after;
  ev.data.ptr = c;
  const int op = before == 0 ? EPOLL_CTL_ADD : after == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  if (::epoll_ctl(epoll_fd_, op, fd, &ev) != 0) return -errno;
  // The loop lives while a socket is watched, as it did while a stream handle was active.
  if (before == 0 && watched_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&anchor_));
  if (after == 0 && --watched_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&anchor_));
  return 0;
}

void EventLoop::retire(ConnectionImpl* c) {
  retired_.push_back(c);
}

void EventLoop::finishRetired() {
  // An onClose may close others; they are finished in the same round.
  while (!retired_.empty()) {
    std::vector<ConnectionImpl*> batch;
    batch.swap(retired_);
    for (ConnectionImpl* c : batch) c->finishClose();
  }
}

void EventLoop::cancelContinue(ConnectionImpl* c) {
  cancelIn(continue_list_, continuing_, c);
}

void EventLoop::endPass() {
  ++pass_;
  continueAll();
  flushAll();
  runPassEnds();
  finishRetired();
}

void EventLoop::runPassEnds() {
  // Added while these run: at the next pass's end.
  if (!pass_ends_.empty()) runRound(pass_ends_, ending_, [](PassEnd* p) { p->passEnded(); });
}

void EventLoop::continueAll() {
  if (continue_list_.empty()) return;
  // One round only: a connection that spends this pass's budget again lands in the fresh
  // list and waits for the next pass, so the poll between them serves everyone else.
  runRound(continue_list_, continuing_, [](ConnectionImpl* c) { c->continueInput(); });
}

void EventLoop::flushAll() {
  // A flush may run user callbacks (onBufferDrain, onMessage for resumed input) that queue
  // more connections; swap so those land in the next round instead of this iteration's
  // list, and repeat so no send waits a whole poll. At most kFlushBatch connections per
  // pass, though: a message to every one of a million connections is then written over
  // many passes, with timers (the heartbeat, deadlines) and I/O served between them
  // instead of after all of it.
  std::size_t budget = kFlushBatch;
  while (!flush_list_.empty() && budget > 0) {
    flushing_.swap(flush_list_);
    std::size_t i = 0;
    for (; i < flushing_.size() && budget > 0; ++i, --budget) {
      if (ConnectionImpl* c = flushing_[i]) c->flushScheduled();
    }
    // What the budget did not reach goes first in the next pass, in its order.
    flush_list_.insert(flush_list_.begin(), flushing_.begin() + static_cast<std::ptrdiff_t>(i),
                       flushing_.end());
    flushing_.clear();
  }
  // The rest is written in the next pass, whose wait does not block (passWorkLeft).
}

TimerId EventLoop::addTimer(std::uint64_t interval_ms, std::function<void()> cb, bool persistent) {
  auto* t = new TimerEntry{{}, this, ++next_timer_id_, std::move(cb), persistent};
  uv_timer_init(&loop_, &t->handle);
  t->handle.data = t;
  uv_timer_start(&t->handle, &EventLoop::onTimer, interval_ms, persistent ? interval_ms : 0);
  timers_.emplace(t->id, t);
  return t->id;
}

void EventLoop::onTimer(uv_timer_t* handle) {
  auto* t = static_cast<TimerEntry*>(handle->data);
  // One-shot timers leave the table before running, so del() from inside says "gone".
  // The entry is freed only by uv_close's callback, after this returns, so it stays valid
  // even when the callback deletes its own timer.
  if (!t->persistent) t->owner->delTimer(t->id);
  try {
    t->callback();
  } catch (const std::exception& e) {
    log().error("timer {} callback threw: {}", t->id, e.what());
  } catch (...) {
    log().error("timer {} callback threw a non-standard exception", t->id);
  }
}

bool EventLoop::delTimer(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return false;
  TimerEntry* t = it->second;
  timers_.erase(it);
  uv_timer_stop(&t->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->handle),
           [](uv_handle_t* h) { delete static_cast<TimerEntry*>(h->data); });
  return true;
}

void EventLoop::delAllTimers() {
  while (!timers_.empty()) delTimer(timers_.begin()->first);
}

}  // namespace wman::detail
