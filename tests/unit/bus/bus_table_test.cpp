// The bus process's routing state: who receives what, interest changes as the node sees
// them, and queries that merge answers from links and other nodes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "bus_table.h"

using namespace wman;
using namespace wman::bus;

namespace {

BusEnvelope to(BusTarget t, std::string name) {
  BusEnvelope e;
  e.target = t;
  e.name = std::move(name);
  return e;
}

std::vector<LinkId> sorted(std::vector<LinkId> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("receivers are the links holding the target, never the sender") {
  BusTable t;
  t.linkOpened(1, 0xa);
  t.linkOpened(2, 0xb);
  t.linkOpened(3, 0xc);
  t.interest(1, BusTarget::Group, "g", true);
  t.interest(2, BusTarget::Group, "g", true);
  t.interest(3, BusTarget::Uid, "u", true);
  t.interest(2, BusTarget::Channel, "news", true);
  CHECK(sorted(t.receivers(to(BusTarget::Group, "g"), 0)) == std::vector<LinkId>{1, 2});
  CHECK(t.receivers(to(BusTarget::Group, "g"), 1) == std::vector<LinkId>{2});
  CHECK(t.receivers(to(BusTarget::Uid, "u"), 0) == std::vector<LinkId>{3});
  CHECK(t.receivers(to(BusTarget::Uid, "nobody"), 0).empty());
  CHECK(t.receivers(to(BusTarget::Channel, "news"), 0) == std::vector<LinkId>{2});
  CHECK(sorted(t.receivers(to(BusTarget::All, ""), 2)) == std::vector<LinkId>{1, 3});
  CHECK(t.receivers(to(BusTarget::Client, "n:b:1:5"), 0) == std::vector<LinkId>{2});
  CHECK(t.receivers(to(BusTarget::Client, "n:b:1:5"), 2).empty());
  CHECK(t.receivers(to(BusTarget::Client, "n:ff:1:5"), 0).empty());
  CHECK(t.receivers(to(BusTarget::Client, "garbage"), 0).empty());
}

TEST_CASE("the node hears of its first and last receiver of a name only") {
  BusTable t;
  std::vector<std::string> events;
  t.onNodeInterest = [&](BusTarget, const std::string& name, bool on) {
    events.push_back((on ? "+" : "-") + name);
  };
  t.linkOpened(1, 1);
  t.linkOpened(2, 2);
  t.interest(1, BusTarget::Group, "g", true);
  t.interest(2, BusTarget::Group, "g", true);
  t.interest(2, BusTarget::Group, "g", true);  // repeated: no change
  t.interest(1, BusTarget::Group, "g", false);
  CHECK(events == std::vector<std::string>{"+g"});
  t.interest(9, BusTarget::Group, "x", true);  // unknown link: ignored
  t.linkClosed(2);                             // its interests go with it
  CHECK(events == std::vector<std::string>{"+g", "-g"});
  CHECK(t.nodeInterests().empty());
  CHECK(t.receivers(to(BusTarget::Group, "g"), 0).empty());
  CHECK(t.links() == 1);
  CHECK(t.receivers(to(BusTarget::Client, "n:2:1:1"), 0).empty());
}

TEST_CASE("a query merges every link's answer, or what it has at the deadline") {
  BusTable t;
  t.linkOpened(1, 1);
  t.linkOpened(2, 2);
  const auto id = t.startQuery(1, 77, BusQuestion::GroupCount, 1000);
  CHECK_FALSE(t.queryAnswered(id, 1, BusAnswer{3, {}}));
  CHECK_FALSE(t.queryAnswered(id, 1, BusAnswer{3, {}}));  // twice from one link: ignored
  auto done = t.queryAnswered(id, 2, BusAnswer{4, {}});
  REQUIRE(done);
  CHECK(done->asker == 1);
  CHECK(done->asker_query == 77);
  CHECK(done->answer.count == 7);
  CHECK(done->replied == 2);
  CHECK(done->asked == 2);

  const auto late = t.startQuery(2, 5, BusQuestion::GroupClients, 1000);
  CHECK_FALSE(t.queryAnswered(late, 2, BusAnswer{1, {"x"}}));
  CHECK(t.expire(999).empty());
  auto expired = t.expire(1000);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].answer.items == std::vector<std::string>{"x"});
  CHECK(expired[0].replied == 1);
  CHECK(expired[0].asked == 2);
}

TEST_CASE("a query waits for the count of other nodes, then for their answers") {
  BusTable t;
  t.linkOpened(1, 1);
  const auto id = t.startQuery(1, 1, BusQuestion::AllCount, 1000);
  t.queryAwaitRemote(id);
  CHECK_FALSE(t.queryAnswered(id, 1, BusAnswer{2, {}}));  // local done, remote count unknown
  CHECK_FALSE(t.queryExtend(id, 2));                      // two other nodes were reached
  CHECK_FALSE(t.queryAnswered(id, 0, BusAnswer{5, {}}));
  auto done = t.queryAnswered(id, 0, BusAnswer{1, {}});
  REQUIRE(done);
  CHECK(done->answer.count == 8);
  CHECK(done->replied == 3);
  CHECK(done->asked == 3);

  BusTable empty;
  const auto none = empty.startQuery(0, 0, BusQuestion::AllCount, 10);
  CHECK(empty.poll(none));  // nobody to ask: answered at once
}
