// Worker::id(): 0 when one process serves the worker; what a process model set with
// setId() otherwise, in onWorkerStart and in every later callback.
#include <catch2/catch.hpp>

#include <atomic>

#include "event_counter.h"
#include "test_server.h"
#include "wman/timer.h"

using namespace wman;
using namespace wman::test;

TEST_CASE("Worker::id is 0 when one process serves the worker") {
  Worker w("text://127.0.0.1:0");
  std::atomic<int> at_start{-1};
  w.onWorkerStart = [&](Worker& self) { at_start = self.id(); };
  TestServer server({&w});
  CHECK(at_start.load() == 0);
}

TEST_CASE("Worker::id set by a process model holds in onWorkerStart and timers") {
  Worker w("text://127.0.0.1:0");
  w.setId(2);
  std::atomic<int> at_start{-1}, in_timer{-1};
  EventCounter fired;
  w.onWorkerStart = [&](Worker& self) {
    at_start = self.id();
    Timer::delay(0, [&] {
      in_timer = w.id();
      fired.add();
    });
  };
  TestServer server({&w});
  REQUIRE(fired.waitFor(1));
  CHECK(at_start.load() == 2);
  CHECK(in_timer.load() == 2);
}
