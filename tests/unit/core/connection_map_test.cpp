// ConnectionMap: lookups, inserts and erases agree with a reference map through growth,
// shrinking and long probe runs (backward-shift deletion), and iteration yields every
// connection once as (id, pointer).
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "wman/connection_map.h"

using wman::Connection;
using wman::ConnectionId;
using wman::ConnectionMap;

namespace {

struct FakeConnection : Connection {
  explicit FakeConnection(ConnectionId id) { id_ = id; }
};

void checkSame(const ConnectionMap& map, const std::map<ConnectionId, Connection*>& ref) {
  REQUIRE(map.size() == ref.size());
  std::map<ConnectionId, Connection*> seen;
  for (auto& [id, c] : map) {  // non-const binding, as user code writes it
    CHECK(c->id() == id);
    CHECK(seen.emplace(id, c).second);
  }
  CHECK(seen == ref);
  for (const auto& [id, c] : ref) CHECK(map.find(id) == c);
}

}  // namespace

TEST_CASE("an empty map finds nothing and iterates over nothing") {
  ConnectionMap map;
  CHECK(map.empty());
  CHECK(map.find(1) == nullptr);
  CHECK_FALSE(map.erase(1));
  CHECK(map.begin() == map.end());
}

TEST_CASE("sequential ids: insert, find, erase, through growth and shrinking") {
  ConnectionMap map;
  std::vector<std::unique_ptr<FakeConnection>> conns;
  std::map<ConnectionId, Connection*> ref;
  for (ConnectionId id = 1; id <= 5000; ++id) {
    conns.push_back(std::make_unique<FakeConnection>(id));
    map.insert(conns.back().get());
    ref.emplace(id, conns.back().get());
  }
  checkSame(map, ref);
  CHECK(map.find(5001) == nullptr);
  for (ConnectionId id = 1; id <= 5000; id += 2) {
    CHECK(map.erase(id));
    ref.erase(id);
  }
  CHECK_FALSE(map.erase(1));
  checkSame(map, ref);
  for (ConnectionId id = 2; id <= 4990; id += 2) {
    CHECK(map.erase(id));
    ref.erase(id);
  }
  checkSame(map, ref);
}

TEST_CASE("random inserts and erases keep every remaining id reachable") {
  std::mt19937_64 rng(42);
  ConnectionMap map;
  std::vector<std::unique_ptr<FakeConnection>> pool;
  std::map<ConnectionId, Connection*> ref;
  ConnectionId next = 1;
  for (int step = 0; step < 20000; ++step) {
    if (ref.empty() || rng() % 3 != 0) {
      // Ids with a common stride collide more than sequential ones.
      pool.push_back(std::make_unique<FakeConnection>(next++ * 4096));
      map.insert(pool.back().get());
      ref.emplace(pool.back()->id(), pool.back().get());
    } else {
      auto it = ref.begin();
      std::advance(it, static_cast<long>(rng() % ref.size()));
      CHECK(map.erase(it->first));
      ref.erase(it);
    }
    if (step % 997 == 0) checkSame(map, ref);
  }
  checkSame(map, ref);
}
