// wman::Timer on a running worker loop.
#include <catch2/catch.hpp>

#include <atomic>

#include "event_counter.h"
#include "test_server.h"
#include "wman/timer.h"

using namespace wman;
using namespace wman::test;

TEST_CASE("timers outside a worker loop are refused") {
  CHECK_THROWS_AS(Timer::add(1, [] {}), std::logic_error);
  CHECK_FALSE(Timer::del(1));
  CHECK(Timer::count() == 0);
}

TEST_CASE("one-shot timers fire once, persistent timers repeat until deleted") {
  Worker w("text://127.0.0.1:0");
  EventCounter once, repeat, cancelled;
  TimerId repeating = 0;
  TimerId never = 0;
  w.onWorkerStart = [&](Worker&) {
    Timer::add(
        0.01, [&] { once.add(); }, false);
    repeating = Timer::add(0.005, [&] { repeat.add(); });
    never = Timer::add(
        10, [&] { cancelled.add(); }, false);
  };
  TestServer server({&w});
  CHECK(server.onLoop([] { return Timer::count(); }) == 3u);
  CHECK(once.waitFor(1));
  CHECK(repeat.waitFor(5));
  CHECK(server.onLoop([&] { return Timer::del(repeating); }));
  int after = repeat.count();
  CHECK(server.onLoop([&] { return Timer::del(never); }));
  CHECK_FALSE(server.onLoop([&] { return Timer::del(never); }));
  // Nothing fires any more: neither the deleted repeating timer nor the one-shot again.
  CHECK_FALSE(repeat.waitFor(after + 1, std::chrono::milliseconds(100)));
  CHECK(once.count() == 1);
  CHECK(cancelled.count() == 0);
  CHECK(server.onLoop([] { return Timer::count(); }) == 0u);
}

TEST_CASE("a timer can delete itself and one-shots are gone once fired") {
  Worker w("text://127.0.0.1:0");
  EventCounter ticks, oneshot;
  std::atomic<bool> del_result{true};
  TestServer server({&w});
  server.onLoop([&] {
    auto id = std::make_shared<TimerId>();
    *id = Timer::add(0.001, [&, id] {
      ticks.add();
      if (ticks.count() == 3) Timer::del(*id);
    });
    auto one = std::make_shared<TimerId>();
    *one = Timer::add(
        0.001,
        [&, one] {
          del_result = Timer::del(*one);
          oneshot.add();
        },
        false);
    return 0;
  });
  REQUIRE(ticks.waitFor(3));
  REQUIRE(oneshot.waitFor(1));
  CHECK_FALSE(ticks.waitFor(4, std::chrono::milliseconds(100)));
  CHECK_FALSE(del_result.load());
  CHECK(server.onLoop([] { return Timer::count(); }) == 0u);
}

TEST_CASE("delAll cancels everything and a throwing timer does not stop the loop") {
  Worker w("text://127.0.0.1:0");
  EventCounter thrown, later;
  TestServer server({&w});
  server.onLoop([&] {
    Timer::add(
        0.001,
        [&] {
          thrown.add();
          throw std::runtime_error("timer bug");
        },
        false);
    Timer::add(
        0.02, [&] { later.add(); }, false);
    return 0;
  });
  REQUIRE(thrown.waitFor(1));
  REQUIRE(later.waitFor(1));
  server.onLoop([&] {
    for (int i = 0; i < 10; ++i) Timer::add(5, [] {});
    Timer::delAll();
    return 0;
  });
  CHECK(server.onLoop([] { return Timer::count(); }) == 0u);
  CHECK_THROWS_AS(server.onLoop([] { return Timer::add(-1, [] {}); }), std::invalid_argument);
}
