// The single place user callbacks are invoked from. An exception thrown by application code
// is logged with the worker pid (in every log line) and the connection id, counted, and
// closes only that connection; it never unwinds into libuv.
#pragma once

#include <exception>
#include <functional>
#include <utility>

#include "detail/log.h"
#include "wman/connection.h"

namespace wman::detail {

// Runs `fn(args...)` if set. Returns false if it threw; `onThrow` then runs (it must not
// throw) so the caller can close the connection and count the failure.
template <typename Fn, typename OnThrow, typename... Args>
bool dispatch(ConnectionId id, const char* what, const Fn& fn, OnThrow&& onThrow, Args&&... args) {
  if (!fn) return true;
  try {
    fn(std::forward<Args>(args)...);
    return true;
  } catch (const std::exception& e) {
    log().error("conn={} {} threw: {}; closing the connection", id, what, e.what());
  } catch (...) {
    log().error("conn={} {} threw a non-standard exception; closing the connection", id, what);
  }
  onThrow();
  return false;
}

}  // namespace wman::detail
