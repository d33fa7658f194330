// DeadlineWheel: entries come due within one tick of their deadline, never before their slot,
// an advance costs only the entries due, a visit can postpone (lazy re-check), stop a pass or
// drop its entry, and entries freed or outliving the wheel leave nothing dangling.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include "detail/deadline_wheel.h"

using wman::detail::DeadlineLink;
using wman::detail::DeadlineVisit;
using wman::detail::DeadlineWheel;

namespace {

struct Item : DeadlineLink {
  int id = 0;
  std::uint64_t deadline = 0;  // what the owner knows now (may move later than scheduled)
  int visits = 0;
};

// Visits due items, recording which; items not yet at their deadline go back to the wheel.
struct Recorder {
  std::uint64_t now = 0;
  std::vector<int> fired;
  int looked_at = 0;
  DeadlineVisit operator()(DeadlineLink& link) {
    auto& item = static_cast<Item&>(link);
    ++item.visits;
    ++looked_at;
    if (item.deadline > now) return {item.deadline, false};
    fired.push_back(item.id);
    return {0, false};
  }
};

// Schedules `item` as `id` at `deadline`.
void scheduleAt(DeadlineWheel& wheel, Item& item, int id, std::uint64_t deadline) {
  item.id = id;
  item.deadline = deadline;
  wheel.schedule(item, deadline);
}

// Schedules `items` (ids 0..n-1) at first + step * id.
void scheduleSpread(DeadlineWheel& wheel, std::vector<Item>& items, std::uint64_t first,
                    std::uint64_t step) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    scheduleAt(wheel, items[i], static_cast<int>(i), first + step * i);
  }
}

// Advances once to `now`; what fired and how many entries were looked at.
Recorder advanceOnce(DeadlineWheel& wheel, std::uint64_t now) {
  Recorder r;
  r.now = now;
  wheel.advance(r.now, r);
  return r;
}

}  // namespace

TEST_CASE("an entry fires within one tick after its deadline and not before") {
  DeadlineWheel wheel(100, 64, 1000);
  Item a;
  scheduleAt(wheel, a, 1, 1550);
  Recorder r;
  for (r.now = 1000; r.now < 1500; r.now += 10) wheel.advance(r.now, r);
  CHECK(r.fired.empty());
  CHECK(a.visits == 0);
  for (; r.now <= 1600 && r.fired.empty(); r.now += 10) wheel.advance(r.now, r);
  REQUIRE(r.fired == std::vector<int>{1});
  CHECK(r.now - 10 >= 1550);
  CHECK(r.now - 10 <= 1550 + 100);
  CHECK_FALSE(a.linked());
}

TEST_CASE("an advance looks only at the entries that came due") {
  DeadlineWheel wheel(10, 2048, 0);  // one turn = 20.48 s: every deadline within it
  std::vector<Item> items(10000);
  scheduleSpread(wheel, items, 1000, 1);  // spread over ten seconds
  const Recorder r = advanceOnce(wheel, 1049);
  // Ticks up to 104 are due: deadlines 1000..1049 fired, nothing else was touched.
  CHECK(r.fired.size() == 50);
  CHECK(r.looked_at == 50);
}

TEST_CASE("activity postpones a deadline lazily: the entry is re-checked once, then moves") {
  DeadlineWheel wheel(10, 256, 0);
  Item a;
  scheduleAt(wheel, a, 7, 100);
  a.deadline = 400;  // the owner saw activity; the entry stays where it was
  Recorder r;
  r.now = 120;
  wheel.advance(r.now, r);
  CHECK(r.fired.empty());
  CHECK(a.visits == 1);
  CHECK(a.linked());
  for (r.now = 130; r.now < 400; r.now += 10) wheel.advance(r.now, r);
  CHECK(a.visits == 1);  // not looked at again until its new deadline
  r.now = 410;
  wheel.advance(r.now, r);
  CHECK(r.fired == std::vector<int>{7});
  CHECK(a.visits == 2);
}

TEST_CASE("a deadline beyond one turn of the wheel is visited early and still fires on time") {
  DeadlineWheel wheel(10, 8, 0);  // one turn = 80 ms
  Item a;
  scheduleAt(wheel, a, 3, 1000);
  Recorder r;
  for (r.now = 0; r.now < 1000; r.now += 10) wheel.advance(r.now, r);
  CHECK(r.fired.empty());
  CHECK(a.visits <= 1000 / 80 + 1);
  r.now = 1010;
  wheel.advance(r.now, r);
  CHECK(r.fired == std::vector<int>{3});
}

TEST_CASE("a stop leaves the remaining due entries first in line for the next advance") {
  DeadlineWheel wheel(10, 64, 0);
  std::vector<Item> items(10);
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i].id = static_cast<int>(i);
    wheel.schedule(items[i], 50);
  }
  std::vector<int> seen;
  auto three = [&](DeadlineLink& link) {
    seen.push_back(static_cast<Item&>(link).id);
    return DeadlineVisit{0, seen.size() % 3 == 0};
  };
  CHECK(wheel.advance(60, three));
  CHECK(seen.size() == 3);
  // No new tick has passed, yet the rest are served, three per call.
  CHECK(wheel.advance(60, three));
  CHECK(wheel.advance(60, three));
  CHECK_FALSE(wheel.advance(60, three));
  CHECK(seen.size() == 10);
  CHECK(seen == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // scheduling order kept
}

TEST_CASE("a visit may reschedule its entry itself, and a due time in the past waits a tick") {
  DeadlineWheel wheel(10, 64, 0);
  Item a;
  int visits = 0;
  wheel.schedule(a, 20);
  auto again = [&](DeadlineLink& link) {
    ++visits;
    wheel.schedule(link, 5);  // already past: goes to the next tick, not this pass
    return DeadlineVisit{999, false};
  };
  wheel.advance(25, again);
  CHECK(visits == 1);
  wheel.advance(29, again);
  CHECK(visits == 1);
  wheel.advance(30, again);
  CHECK(visits == 2);
}

TEST_CASE("after a stall longer than a turn every entry is looked at once") {
  DeadlineWheel wheel(10, 16, 0);
  std::vector<Item> items(5);
  scheduleSpread(wheel, items, 20, 30);
  const Recorder r = advanceOnce(wheel, 100000);
  CHECK(r.fired.size() == 5);
  CHECK(r.looked_at == 5);
}

TEST_CASE("unlinking, destroying an entry or the wheel first leaves no dangling link") {
  auto wheel = std::make_unique<DeadlineWheel>(10, 16, 0);
  Item kept;
  kept.id = 1;
  {
    Item gone;
    gone.id = 2;
    wheel->schedule(gone, 30);
    wheel->schedule(kept, 30);
  }  // `gone` unlinked itself
  Item dropped;
  dropped.id = 3;
  wheel->schedule(dropped, 30);
  dropped.unlink();
  CHECK_FALSE(dropped.linked());
  Recorder r;
  r.now = 40;
  wheel->advance(r.now, r);
  CHECK(r.fired == std::vector<int>{1});
  Item outlives;
  wheel->schedule(outlives, 500);
  wheel.reset();
  CHECK_FALSE(outlives.linked());
}
