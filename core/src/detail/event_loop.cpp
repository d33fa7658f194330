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
  uv_prepare_init(&loop_, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, &EventLoop::onPrepare);
  // The prepare hook keeps the loop alive only while flushes are scheduled.
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
  uv_idle_init(&loop_, &idle_);
  uv_async_init(&loop_, &async_, &EventLoop::onAsync);
  async_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0)
    throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  events_.reset(new epoll_event[kEventBatch]);
  uv_poll_init(&loop_, &sockets_, epoll_fd_);
  sockets_.data = this;
  uv_poll_start(&sockets_, UV_READABLE, &EventLoop::onSockets);
  uv_unref(reinterpret_cast<uv_handle_t*>(&sockets_));
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
  uv_run(&loop_, UV_RUN_DEFAULT);
  t_current = outer;
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
  // While flushes are pending the prepare hook keeps the loop alive: otherwise a loop whose
  // last active handle just went quiet (a connection that stopped reading to close) would
  // end before writing what that connection queued.
  if (flush_list_.empty()) uv_ref(reinterpret_cast<uv_handle_t*>(&prepare_));
  flush_list_.push_back(c);
}

void EventLoop::cancelFlush(ConnectionImpl* c) {
  std::replace(flush_list_.begin(), flush_list_.end(), c, static_cast<ConnectionImpl*>(nullptr));
  std::replace(flushing_.begin(), flushing_.end(), c, static_cast<ConnectionImpl*>(nullptr));
}

void EventLoop::scheduleContinue(ConnectionImpl* c) {
  continue_list_.push_back(c);
  updateIdle();
}

void EventLoop::updateIdle() {
  if (closed_) return;
  if (!continue_list_.empty() || !flush_list_.empty() || !retired_.empty()) {
    uv_idle_start(&idle_, [](uv_idle_t*) {});
  } else {
    uv_idle_stop(&idle_);
  }
}

int EventLoop::watch(int fd, ConnectionImpl* c, std::uint32_t before, std::uint32_t after) {
  if (before == after) return 0;
  epoll_event ev{};
  ev.events = after;
  ev.data.ptr = c;
  const int op = before == 0 ? EPOLL_CTL_ADD : after == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  if (::epoll_ctl(epoll_fd_, op, fd, &ev) != 0) return -errno;
  // The loop lives while a socket is watched, as it did while a stream handle was active.
  if (before == 0 && watched_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&sockets_));
  if (after == 0 && --watched_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&sockets_));
  return 0;
}

void EventLoop::onSockets(uv_poll_t* handle, int, int) {
  auto* self = static_cast<EventLoop*>(handle->data);
  const int n = ::epoll_wait(self->epoll_fd_, self->events_.get(), kEventBatch, 0);
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = self->events_[i];
    static_cast<ConnectionImpl*>(ev.data.ptr)->socketEvents(ev.events);
  }
  self->finishRetired();
}

void EventLoop::retire(ConnectionImpl* c) {
  retired_.push_back(c);
  updateIdle();
}

void EventLoop::finishRetired() {
  // An onClose may close others; they are finished in the same round.
  while (!retired_.empty()) {
    std::vector<ConnectionImpl*> batch;
    batch.swap(retired_);
    for (ConnectionImpl* c : batch) c->finishClose();
  }
  updateIdle();
}

void EventLoop::cancelContinue(ConnectionImpl* c) {
  std::replace(continue_list_.begin(), continue_list_.end(), c,
               static_cast<ConnectionImpl*>(nullptr));
  std::replace(continuing_.begin(), continuing_.end(), c, static_cast<ConnectionImpl*>(nullptr));
}

void EventLoop::onPrepare(uv_prepare_t* handle) {
  auto* self = static_cast<EventLoop*>(handle->data);
  ++self->pass_;
  self->continueAll();
  self->flushAll();
  self->finishRetired();
}

void EventLoop::continueAll() {
  if (continue_list_.empty()) return;
  // One round only: a connection that spends this pass's budget again lands in the fresh
  // list and waits for the next pass, so the poll between them serves everyone else.
  continuing_.swap(continue_list_);
  for (std::size_t i = 0; i < continuing_.size(); ++i) {
    if (ConnectionImpl* c = continuing_[i]) c->continueInput();
  }
  continuing_.clear();
  updateIdle();
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
  // The rest is written in the next pass; the idle handle keeps its poll from blocking.
  updateIdle();
  if (flush_list_.empty()) uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
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
