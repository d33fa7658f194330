// The asynchronous form of wman::resolve() (wman/resolve.h) for code running on a loop,
// such as outbound connections: the lookup runs on libuv's thread pool (uv_getaddrinfo),
// so a slow DNS server never stalls the loop. Same hints, same answer, same error messages.
#pragma once

#include <netdb.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

#include "wman/resolve.h"

namespace wman::detail {

// Resolves one host at a time on `loop`. The owner may go away (or start another lookup)
// before the answer: the pending lookup is then cancelled and its callback never runs.
// Single-threaded, like everything on a loop: call it from the loop's thread only.
class AsyncResolver {
 public:
  // Runs on the loop's thread with the answer; it must not throw (it is called from libuv).
  // It may destroy the resolver or start another lookup on it.
  using Callback = std::function<void(ResolveResult)>;

  explicit AsyncResolver(uv_loop_t& loop) : loop_(loop) {}
  ~AsyncResolver() { cancel(); }
  AsyncResolver(const AsyncResolver&) = delete;
  AsyncResolver& operator=(const AsyncResolver&) = delete;

  // Starts resolving `host`:`port`, cancelling a lookup still pending. `done` runs once, from
  // a later loop iteration, never from inside start(). When libuv refuses the request the
  // error comes back here and `done` never runs.
  std::error_code start(std::string_view host, std::uint16_t port, const ResolveOptions& options,
                        Callback done);

  // Drops the pending lookup, if any: its callback will not run. True when the lookup was
  // stopped before a pool thread took it; otherwise it finishes in the background and its
  // answer is thrown away. The request memory is freed once libuv hands it back, which
  // needs the loop to run again (uv_run until it has no active requests).
  bool cancel();

  bool pending() const { return request_ != nullptr; }

 private:
  struct Request;
  static void onResolved(uv_getaddrinfo_t* req, int status, addrinfo* list);

  uv_loop_t& loop_;
  Request* request_ = nullptr;  // the lookup in flight; owned by libuv until its callback
};

// Shared by resolve() and AsyncResolver so both forms ask and answer the same way.
addrinfo resolveHints(const ResolveOptions& options);
ResolveResult resolveFailure(std::string_view host, std::error_code ec);
ResolveResult resolveCollect(std::string_view host, const addrinfo* list);

// A uv_getaddrinfo status as the error resolve() would report for the same failure: UV_EAI_*
// become EAI_* codes in resolveCategory(), anything else stays a libuv error.
std::error_code resolveError(int uv_status);

}  // namespace wman::detail
