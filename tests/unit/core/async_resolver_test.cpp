// The asynchronous resolver on a real libuv loop: same answers as resolve(), callbacks only
// from the loop, and a cancelled or abandoned lookup never calls back (and, under ASan,
// leaks nothing).
#include <catch2/catch.hpp>

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "detail/resolver.h"
#include "detail/uv_error.h"

using wman::ResolveOptions;
using wman::ResolveResult;
using wman::detail::AsyncResolver;

namespace {

// A private loop per test; closing it checks that no request was left behind.
struct TestLoop {
  uv_loop_t loop{};
  TestLoop() { REQUIRE(uv_loop_init(&loop) == 0); }
  ~TestLoop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
};

// Occupies every thread of libuv's pool until released, so a lookup queued meanwhile is
// certainly not running yet and uv_cancel can take it back. Going away, it releases the
// threads and runs the loop until libuv is done with its work requests.
class PoolBlocker {
 public:
  explicit PoolBlocker(uv_loop_t& loop) : loop_(loop), works_(poolSize()) {
    for (auto& w : works_) {
      w.data = this;
      uv_queue_work(
          &loop, &w,
          [](uv_work_t* req) {
            auto* self = static_cast<PoolBlocker*>(req->data);
            ++self->running_;
            while (!self->released_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          },
          [](uv_work_t* req, int) { ++static_cast<PoolBlocker*>(req->data)->finished_; });
    }
    // Bounded, in case the pool is smaller than we think; the cancel check then fails.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (running_ < static_cast<int>(works_.size()) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~PoolBlocker() {
    released_ = true;
    while (finished_ < works_.size()) uv_run(&loop_, UV_RUN_ONCE);
  }
  PoolBlocker(const PoolBlocker&) = delete;
  PoolBlocker& operator=(const PoolBlocker&) = delete;

 private:
  // libuv reads UV_THREADPOOL_SIZE once, when the pool starts; 4 without it.
  static std::size_t poolSize() {
    const char* v = std::getenv("UV_THREADPOOL_SIZE");
    const long n = v ? std::strtol(v, nullptr, 10) : 4;
    return static_cast<std::size_t>(n > 0 ? (n > 1024 ? 1024 : n) : 4);
  }

  uv_loop_t& loop_;
  std::vector<uv_work_t> works_;
  std::size_t finished_ = 0;  // counted on the loop thread
  std::atomic<int> running_{0};
  std::atomic<bool> released_{false};
};

ResolveResult resolveOnLoop(const char* host, std::uint16_t port, ResolveOptions options = {}) {
  TestLoop t;
  AsyncResolver resolver(t.loop);
  std::optional<ResolveResult> got;
  int calls = 0;
  REQUIRE_FALSE(resolver.start(host, port, options, [&](ResolveResult r) {
    ++calls;
    got = std::move(r);
  }));
  CHECK(resolver.pending());
  CHECK(calls == 0);  // never from inside start()
  t.run();
  CHECK(calls == 1);
  CHECK_FALSE(resolver.pending());
  REQUIRE(got);
  return *got;
}

}  // namespace

TEST_CASE("async resolve: numeric and localhost answers match resolve()", "[resolve][async]") {
  for (const char* host : {"127.0.0.1", "::1", "0.0.0.0", "localhost"}) {
    INFO(host);
    ResolveResult async = resolveOnLoop(host, 8443);
    ResolveResult sync = wman::resolve(host, 8443);
    REQUIRE(async.ok());
    CHECK(async.addresses == sync.addresses);
    for (const auto& a : async.addresses) CHECK(a.port() == 8443);
  }
  ResolveResult v4 = resolveOnLoop("localhost", 1, ResolveOptions{wman::AddressFamily::IPv4});
  REQUIRE(v4.ok());
  for (const auto& a : v4.addresses) CHECK(a.family() == AF_INET);
}

TEST_CASE("async resolve: an unknown name fails with the same error as resolve()",
          "[resolve][async]") {
  ResolveResult async = resolveOnLoop("no-such-host.invalid", 80);
  ResolveResult sync = wman::resolve("no-such-host.invalid", 80);
  REQUIRE_FALSE(async.ok());
  CHECK(async.addresses.empty());
  CHECK(async.error == sync.error);
  CHECK(async.message == sync.message);
  CHECK_THAT(async.message, Catch::Contains("'no-such-host.invalid'"));
}

TEST_CASE("async resolve: an empty host is refused at start", "[resolve][async]") {
  TestLoop t;
  AsyncResolver resolver(t.loop);
  bool called = false;
  auto ec = resolver.start("", 80, {}, [&](ResolveResult) { called = true; });
  CHECK(ec == std::error_code(EAI_NONAME, wman::resolveCategory()));
  CHECK_FALSE(resolver.pending());
  t.run();
  CHECK_FALSE(called);
}

TEST_CASE("async resolve: cancel before the answer means no callback", "[resolve][async]") {
  TestLoop t;
  bool called = false;
  {
    PoolBlocker blocker(t.loop);
    AsyncResolver resolver(t.loop);
    REQUIRE_FALSE(resolver.start("localhost", 80, {}, [&](ResolveResult) { called = true; }));
    // Queued behind the blockers, so libuv takes it back.
    CHECK(resolver.cancel());
    CHECK_FALSE(resolver.pending());
    CHECK_FALSE(resolver.cancel());  // nothing left to cancel
  }
  t.run();  // delivers UV_EAI_CANCELED to the detached request, which frees it
  CHECK_FALSE(called);
}

TEST_CASE("async resolve: a late answer after cancel is dropped", "[resolve][async]") {
  TestLoop t;
  bool called = false;
  bool took_late_path = false;
  AsyncResolver resolver(t.loop);
  // Let a pool thread finish the lookup before cancelling, so uv_cancel fails and only the
  // detached owner keeps the answer out. A slow pool may still be queued: try again.
  for (int attempt = 0; attempt < 50 && !took_late_path; ++attempt) {
    REQUIRE_FALSE(resolver.start("127.0.0.1", 80, {}, [&](ResolveResult) { called = true; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    took_late_path = !resolver.cancel();
  }
  CHECK(took_late_path);
  t.run();
  CHECK_FALSE(called);
}

TEST_CASE("async resolve: the owner going away cancels", "[resolve][async]") {
  TestLoop t;
  bool called = false;
  auto resolver = std::make_unique<AsyncResolver>(t.loop);
  REQUIRE_FALSE(resolver->start("localhost", 80, {}, [&](ResolveResult) { called = true; }));
  resolver.reset();
  t.run();
  CHECK_FALSE(called);
}

TEST_CASE("async resolve: a new lookup replaces the pending one", "[resolve][async]") {
  TestLoop t;
  AsyncResolver resolver(t.loop);
  std::vector<int> calls;
  REQUIRE_FALSE(resolver.start("127.0.0.1", 1, {}, [&](ResolveResult) { calls.push_back(1); }));
  REQUIRE_FALSE(resolver.start("127.0.0.1", 2, {}, [&](ResolveResult r) {
    CHECK(r.addresses.at(0).port() == 2);
    calls.push_back(2);
  }));
  t.run();
  CHECK(calls == std::vector<int>{2});
}

TEST_CASE("async resolve: the callback may start the next lookup or destroy the resolver",
          "[resolve][async]") {
  TestLoop t;
  auto resolver = std::make_unique<AsyncResolver>(t.loop);
  std::vector<std::uint16_t> ports;
  REQUIRE_FALSE(resolver->start("127.0.0.1", 1, {}, [&](ResolveResult first) {
    ports.push_back(first.addresses.at(0).port());
    // A reconnect resolves again from inside the answer.
    auto ec = resolver->start("127.0.0.1", 2, {}, [&](ResolveResult second) {
      ports.push_back(second.addresses.at(0).port());
      resolver.reset();
    });
    CHECK_FALSE(ec);
  }));
  t.run();
  CHECK(ports == std::vector<std::uint16_t>{1, 2});
  CHECK_FALSE(resolver);
}

TEST_CASE("async resolve: libuv statuses map to the errors resolve() reports", "[resolve][async]") {
  using wman::detail::resolveError;
  CHECK(resolveError(UV_EAI_NONAME) == std::error_code(EAI_NONAME, wman::resolveCategory()));
  CHECK(resolveError(UV_EAI_AGAIN) == std::error_code(EAI_AGAIN, wman::resolveCategory()));
  CHECK(resolveError(UV_EAI_AGAIN).message() == ::gai_strerror(EAI_AGAIN));
  // Not a resolver failure: stays a libuv error.
  CHECK(resolveError(UV_ENOMEM) == wman::detail::uvError(UV_ENOMEM));
}
