#include "wman/timer.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "detail/event_loop.h"

namespace wman {
namespace {

detail::EventLoop& currentLoop() {
  detail::EventLoop* loop = detail::EventLoop::current();
  if (!loop) throw std::logic_error("wman::Timer used outside a worker's event loop");
  return *loop;
}

// The one place add() and delay() schedule through, so both validate and round alike.
// `api` names the public call in the exception message.
TimerId schedule(const char* api, double seconds, std::function<void()> callback, bool persistent) {
  if (!std::isfinite(seconds) || seconds < 0) {
    throw std::invalid_argument(std::string(api) + ": interval must be a finite number >= 0");
  }
  auto& loop = currentLoop();
  auto ms = static_cast<std::uint64_t>(std::llround(seconds * 1000.0));
  // A persistent timer with interval 0 would spin the loop; one millisecond is the floor.
  if (persistent && ms == 0) ms = 1;
  return loop.addTimer(ms, std::move(callback), persistent);
}

}  // namespace

TimerId Timer::add(double interval_seconds, std::function<void()> callback, bool persistent) {
  return schedule("wman::Timer::add", interval_seconds, std::move(callback), persistent);
}

TimerId Timer::delay(double seconds, std::function<void()> callback) {
  return schedule("wman::Timer::delay", seconds, std::move(callback), false);
}

bool Timer::del(TimerId id) {
  detail::EventLoop* loop = detail::EventLoop::current();
  return loop ? loop->delTimer(id) : false;
}

void Timer::delAll() {
  if (detail::EventLoop* loop = detail::EventLoop::current()) loop->delAllTimers();
}

std::size_t Timer::count() {
  detail::EventLoop* loop = detail::EventLoop::current();
  return loop ? loop->timerCount() : 0;
}

}  // namespace wman
