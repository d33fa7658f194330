// Timers on the calling worker's event loop (Workerman's Timer::add / Timer::del).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace wman {

using TimerId = std::uint64_t;

class Timer {
 public:
  // Runs `callback` after `interval_seconds`, and then every `interval_seconds` if
  // `persistent`. Must be called on a worker's loop thread (inside onWorkerStart or any
  // callback); throws std::logic_error elsewhere and std::invalid_argument for an interval
  // that is negative or not finite. Exceptions thrown by `callback` are logged and swallowed.
  static TimerId add(double interval_seconds, std::function<void()> callback,
                     bool persistent = true);

  // Runs `callback` once, `seconds` from now (0 = at the loop's next timer pass): the one-shot
  // form of add(), with the same rules and exceptions. The returned id cancels it with del()
  // until it fires.
  static TimerId delay(double seconds, std::function<void()> callback);

  // Cancels a timer. Returns false if it already fired (one-shot) or was deleted.
  // Safe to call from inside the timer's own callback.
  static bool del(TimerId id);

  // Cancels every timer of the calling worker process.
  static void delAll();

  // Number of active timers of the calling worker process.
  static std::size_t count();
};

}  // namespace wman
