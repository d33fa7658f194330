// The bus inside one process (no backend): addresses, memberships, sends, queries and
// channels, over real sockets on 127.0.0.1:0.
#include <catch2/catch.hpp>

#include <future>
#include <map>
#include <mutex>

#include "event_counter.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/bus.h"
#include "wman/bus_backend.h"

using namespace wman;
using namespace wman::test;
using namespace std::chrono_literals;

namespace {

// A text and a frame worker whose connections are known by arrival order.
struct TwoWorkers {
  Worker text{"text://127.0.0.1:0"};
  Worker frame{"frame://127.0.0.1:0"};
  EventCounter opened, closed;
  std::mutex m;
  std::vector<std::pair<Worker*, ConnectionId>> conns;

  TwoWorkers() {
    for (Worker* w : {&text, &frame}) {
      w->onConnect = [this, w](Connection& c) {
        {
          std::lock_guard<std::mutex> lock(m);
          conns.emplace_back(w, c.id());
        }
        opened.add();
      };
      w->onClose = [this](Connection&) { closed.add(); };
    }
  }
  // The n-th accepted connection (loop thread only).
  Connection& at(std::size_t n) {
    std::lock_guard<std::mutex> lock(m);
    return *conns.at(n).first->connection(conns.at(n).second);
  }
};

template <class T>
T await(std::future<T>& f) {
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  return f.get();
}

}  // namespace

TEST_CASE("client ids route by themselves and parse back") {
  ClientAddress a;
  REQUIRE(parseClientId("web-1.example:00000000000000ff:2:1a", a));
  CHECK(a.node == "web-1.example");
  CHECK(a.incarnation == 0xff);
  CHECK(a.worker == 2);
  CHECK(a.connection == 0x1a);
  for (const char* bad : {"", "x", "n:1:2", ":1:2:3", "n:1:2:zz", "n:1:2:3:", "a:b:1:2:3"}) {
    INFO(bad);
    CHECK_FALSE(parseClientId(bad, a));
  }
}

TEST_CASE("group, uid, client and all sends reach local members once, encoded per worker") {
  TwoWorkers s;
  TestServer server({&s.text, &s.frame});
  TestClient t1(s.text.port()), t2(s.text.port());
  REQUIRE(s.opened.waitFor(2));
  TestClient f1(s.frame.port());
  REQUIRE(s.opened.waitFor(3));

  std::string t1_id = server.onLoop([&] {
    s.at(0).joinGroup("room");
    s.at(2).joinGroup("room");
    s.at(0).bindUid("alice");
    s.at(2).bindUid("alice");
    return s.at(0).clientId();
  });
  server.onLoop([&] { sendToGroup("room", "to room"); });
  CHECK(t1.recvLine() == "to room\n");
  CHECK(f1.recvExactly(11) == frameOf("to room"));
  server.onLoop([&] { sendToGroup("room", "not t1", {t1_id}); });
  CHECK(f1.recvExactly(10) == frameOf("not t1"));
  server.onLoop([&] { sendToUid("alice", "uid"); });
  CHECK(t1.recvLine() == "uid\n");
  CHECK(f1.recvExactly(7) == frameOf("uid"));
  server.onLoop([&] { sendToClient(t1_id, "you"); });
  CHECK(t1.recvLine() == "you\n");
  server.onLoop([&] { sendToAll("everyone", {t1_id}); });
  CHECK(t2.recvLine() == "everyone\n");
  CHECK(f1.recvExactly(12) == frameOf("everyone"));
  // t1 got nothing else: the next line it reads is the one sent now.
  server.onLoop([&] { sendToClient(t1_id, "last"); });
  CHECK(t1.recvLine() == "last\n");
  CHECK(server.onLoop([&] { return s.at(2).groups(); }) == std::vector<std::string>{"room"});
  CHECK(server.onLoop([&] { return s.at(2).uid(); }) == "alice");
}

TEST_CASE("membership ends on close, and a stale client id reaches nobody") {
  TwoWorkers s;
  TestServer server({&s.text, &s.frame});
  TestClient t1(s.text.port());
  REQUIRE(s.opened.waitFor(1));
  const std::string old_id = server.onLoop([&] {
    s.at(0).joinGroup("g");
    s.at(0).bindUid("bob");
    return s.at(0).clientId();
  });
  std::promise<std::size_t> before;
  server.onLoop([&] {
    getClientIdCountByGroup("g", [&](std::size_t n, QueryReach) { before.set_value(n); });
  });
  auto f = before.get_future();
  CHECK(await(f) == 1);

  t1.close();
  REQUIRE(s.closed.waitFor(1));
  TestClient t2(s.text.port());
  REQUIRE(s.opened.waitFor(2));
  CHECK(server.onLoop([&] { return s.at(1).clientId(); }) != old_id);
  server.onLoop([&] { sendToClient(old_id, "stale"); });
  server.onLoop([&] { sendToClient(s.at(1).clientId(), "fresh"); });
  CHECK(t2.recvLine() == "fresh\n");

  std::promise<std::pair<bool, std::size_t>> after;
  server.onLoop([&] {
    isUidOnline("bob", [&](bool online, QueryReach) {
      getClientIdCountByGroup("g", [&, online](std::size_t n, QueryReach) {
        after.set_value({online, n});
      });
    });
  });
  auto g = after.get_future();
  CHECK(await(g) == std::pair<bool, std::size_t>{false, 0});
  CHECK(server.onLoop([] { return busInterests().size(); }) == 0);
}

TEST_CASE("queries answer from this process with a complete reach") {
  TwoWorkers s;
  TestServer server({&s.text, &s.frame});
  TestClient t1(s.text.port()), t2(s.text.port());
  REQUIRE(s.opened.waitFor(2));
  TestClient f1(s.frame.port());
  REQUIRE(s.opened.waitFor(3));
  server.onLoop([&] {
    for (std::size_t i = 0; i < 3; ++i) s.at(i).joinGroup("g");
    s.at(0).bindUid("u1");
    s.at(1).bindUid("u1");
    s.at(2).bindUid("u2");
  });
  std::promise<std::vector<std::string>> uids, ids;
  std::promise<std::size_t> all;
  std::promise<QueryReach> reach;
  server.onLoop([&] {
    getUidListByGroup("g", [&](std::vector<std::string> v, QueryReach r) {
      uids.set_value(v);
      reach.set_value(r);
    });
    getClientIdListByGroup("g", [&](std::vector<std::string> v, QueryReach) { ids.set_value(v); });
    getAllClientIdCount([&](std::size_t n, QueryReach) { all.set_value(n); });
  });
  auto fu = uids.get_future();
  auto fi = ids.get_future();
  auto fa = all.get_future();
  auto fr = reach.get_future();
  CHECK(await(fu) == std::vector<std::string>{"u1", "u2"});
  CHECK(await(fi).size() == 3);
  CHECK(await(fa) == 3);
  const QueryReach r = await(fr);
  CHECK(r.replied == 1);
  CHECK(r.complete());
}

TEST_CASE("closeClient closes one connection; channels reach their subscribers") {
  TwoWorkers s;
  TestServer server({&s.text, &s.frame});
  TestClient t1(s.text.port());
  REQUIRE(s.opened.waitFor(1));
  server.onLoop([&] { closeClient(s.at(0).clientId()); });
  CHECK(t1.closedWithin(5s));

  std::vector<std::string> got;
  server.onLoop([&] {
    auto a = bus::subscribe("news", [&](std::string_view ch, std::string_view d) {
      got.push_back(std::string(ch) + "=" + std::string(d));
    });
    auto b =
        bus::subscribe("other", [&](std::string_view, std::string_view) { got.push_back("x"); });
    bus::publish("news", "one");
    CHECK(bus::unsubscribe(a));
    CHECK_FALSE(bus::unsubscribe(a));
    bus::publish("news", "two");
    bus::unsubscribe(b);
  });
  CHECK(got == std::vector<std::string>{"news=one"});
}
