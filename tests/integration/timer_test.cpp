// wman::Timer on a running worker loop.
#include <catch2/catch.hpp>

#include <atomic>
#include <limits>
#include <memory>

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

TEST_CASE("delay runs its callback once, after the ones due sooner") {
  Worker w("text://127.0.0.1:0");
  EventCounter fired, sentinel;
  std::atomic<int> fired_before_sentinel{-1};
  std::atomic<int> sooner_seen{-1};
  TestServer server({&w});
  server.onLoop([&] {
    auto sooner = std::make_shared<EventCounter>();
    Timer::delay(0.001, [sooner] { sooner->add(); });
    // A persistent timer of 5 ms would fire about ten times before the 50 ms sentinel.
    Timer::delay(0.005, [&, sooner] {
      sooner_seen = sooner->count();
      fired.add();
    });
    Timer::delay(0.05, [&] {
      fired_before_sentinel = fired.count();
      sentinel.add();
    });
    return 0;
  });
  REQUIRE(sentinel.waitFor(1));
  CHECK(fired.count() == 1);
  CHECK(fired_before_sentinel.load() == 1);
  CHECK(sooner_seen.load() == 1);
  CHECK(server.onLoop([] { return Timer::count(); }) == 0u);
}

TEST_CASE("del cancels a delay until it fires, and a zero delay fires") {
  Worker w("text://127.0.0.1:0");
  EventCounter cancelled, zero, sentinel;
  TimerId id = 0;
  w.onWorkerStart = [&](Worker&) { id = Timer::delay(10, [&] { cancelled.add(); }); };
  TestServer server({&w});
  CHECK(server.onLoop([] { return Timer::count(); }) == 1u);
  CHECK(server.onLoop([&] { return Timer::del(id); }));
  CHECK_FALSE(server.onLoop([&] { return Timer::del(id); }));
  // Scheduled and cancelled in one callback, so it is cancelled before it is due however
  // slow the machine; the sentinel is due after it would have fired.
  CHECK(server.onLoop([&] {
    TimerId soon = Timer::delay(0.01, [&] { cancelled.add(); });
    Timer::delay(0, [&] { zero.add(); });
    Timer::delay(0.05, [&] { sentinel.add(); });
    return Timer::del(soon);
  }));
  REQUIRE(sentinel.waitFor(1));
  CHECK(zero.count() == 1);
  CHECK(cancelled.count() == 0);
  // A fired delay is gone: del() says so.
  TimerId fired = server.onLoop([&] { return Timer::delay(0, [&] { zero.add(); }); });
  REQUIRE(zero.waitFor(2));
  CHECK_FALSE(server.onLoop([&] { return Timer::del(fired); }));
}

TEST_CASE("delay refuses what add refuses") {
  CHECK_THROWS_AS(Timer::delay(1, [] {}), std::logic_error);
  Worker w("text://127.0.0.1:0");
  TestServer server({&w});
  for (double bad : {-0.001, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    CHECK_THROWS_AS(server.onLoop([bad] { return Timer::delay(bad, [] {}); }),
                    std::invalid_argument);
  }
  CHECK(server.onLoop([] { return Timer::count(); }) == 0u);
}
