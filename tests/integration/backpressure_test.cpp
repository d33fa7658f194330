// Back-pressure made visible: Ok -> Buffered -> onBufferFull -> Dropped, then
// onBufferDrain once the peer reads, with every accepted byte delivered.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <vector>

#include "event_counter.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/timer.h"

using namespace wman;
using namespace wman::test;

TEST_CASE("a peer that stops reading fills the buffer, sends drop, then drain after reading") {
  Worker w("tcp://127.0.0.1:0");
  w.limits.max_send_buffer = 1024 * 1024;
  const std::string chunk(256 * 1024, 'b');
  std::mutex m;
  std::vector<SendStatus> statuses;
  std::atomic<std::size_t> accepted_bytes{0};
  EventCounter full, drained, dropped, send_fail_errors;
  w.onMessage = [&](Connection& c, Message) {
    // Send a chunk every millisecond until one is dropped: between ticks the loop flushes,
    // so the kernel's buffers fill first, then ours.
    ConnectionId id = c.id();
    auto timer = std::make_shared<TimerId>();
    *timer = Timer::add(0.001, [&, id, timer] {
      Connection* conn = w.connection(id);
      if (!conn) return;
      SendStatus s = conn->send(chunk);
      {
        std::lock_guard<std::mutex> lock(m);
        statuses.push_back(s);
      }
      if (s == SendStatus::Dropped) {
        dropped.add();
        Timer::del(*timer);
      } else {
        accepted_bytes += chunk.size();
      }
    });
  };
  w.onBufferFull = [&](Connection& c) {
    CHECK(c.bufferedAmount() >= c.maxSendBuffer);
    full.add();
  };
  w.onBufferDrain = [&](Connection& c) {
    CHECK(c.bufferedAmount() == 0);
    drained.add();
  };
  w.onError = [&](Connection&, int code, std::string_view) {
    if (code == error_code::kSendFail) send_fail_errors.add();
  };
  TestServer server({&w});
  TestClient client(w.port(), 4096);
  client.send("go");
  REQUIRE(dropped.waitFor(1, std::chrono::seconds(20)));
  CHECK(full.count() == 1);
  CHECK(drained.count() == 0);
  CHECK(send_fail_errors.count() == 1);
  {
    std::lock_guard<std::mutex> lock(m);
    REQUIRE(statuses.size() >= 3);
    CHECK(statuses.front() == SendStatus::Ok);
    CHECK(statuses.back() == SendStatus::Dropped);
    // Somewhere before the drop the kernel pushed back and sends queued behind it.
    CHECK(std::find(statuses.begin(), statuses.end(), SendStatus::Buffered) != statuses.end());
  }
  CHECK(w.stats().send_fail == 1);
  // Now read everything: the buffer drains and every accepted byte arrives. Through a 4 KiB
  // receive window every few KiB needs the loop thread scheduled, which on a loaded machine
  // under ASan can be as slow as 100 KiB/s: the bound is generous, it only catches a stall.
  std::string got = client.recvExactly(accepted_bytes.load(), std::chrono::seconds(90));
  CHECK(got.size() == accepted_bytes.load());
  REQUIRE(drained.waitFor(1));
  CHECK(server.onLoop([&] { return w.connection(1)->bufferedAmount(); }) == 0u);
  // Sending works again after the drain.
  CHECK(server.onLoop([&] { return w.connection(1)->send("again"); }) == SendStatus::Ok);
  CHECK(client.recvExactly(5) == "again");
}

TEST_CASE("sends within one iteration are coalesced and capped by max_send_buffer") {
  Worker w("tcp://127.0.0.1:0");
  w.limits.max_send_buffer = 100;
  std::vector<SendStatus> statuses;
  int full = 0;
  w.onBufferFull = [&](Connection&) { ++full; };
  w.onMessage = [&](Connection& c, Message) {
    // Nothing is written before the loop's flush, so the buffer counts every byte.
    for (int i = 0; i < 5; ++i) statuses.push_back(c.send(std::string(40, 'a' + i)));
  };
  TestServer server({&w});
  TestClient client(w.port());
  client.send("x");
  std::string got = client.recvExactly(120);
  CHECK(got == std::string(40, 'a') + std::string(40, 'b') + std::string(40, 'c'));
  server.onLoop([] { return 0; });
  CHECK(statuses == std::vector<SendStatus>{SendStatus::Ok, SendStatus::Ok, SendStatus::Ok,
                                            SendStatus::Dropped, SendStatus::Dropped});
  CHECK(full == 1);
}

TEST_CASE("pauseRecv stops delivery and resumeRecv delivers what was held back") {
  Worker w("text://127.0.0.1:0");
  EventCounter messages;
  w.onConnect = [](Connection& c) { c.pauseRecv(); };
  w.onMessage = [&](Connection& c, Message m) {
    c.send(m);
    messages.add();
  };
  TestServer server({&w});
  TestClient client(w.port());
  client.send("one\ntwo\n");
  // While paused nothing is delivered (bounded wait for an event that must not happen).
  CHECK_FALSE(messages.waitFor(1, std::chrono::milliseconds(300)));
  server.onLoop([&] {
    w.connection(1)->resumeRecv();
    return 0;
  });
  CHECK(client.recvLine() == "one\n");
  CHECK(client.recvLine() == "two\n");
  CHECK(messages.count() == 2);
}

TEST_CASE("pauseRecv inside onMessage holds the rest of an already-read batch") {
  Worker w("text://127.0.0.1:0");
  std::vector<std::string> seen;
  EventCounter delivered;
  w.onMessage = [&](Connection& c, Message m) {
    seen.push_back(m.str());
    if (m.view() == "pause") c.pauseRecv();
    delivered.add();
  };
  TestServer server({&w});
  TestClient client(w.port());
  client.send("a\npause\nb\nc\n");
  REQUIRE(delivered.waitFor(2));
  CHECK_FALSE(delivered.waitFor(3, std::chrono::milliseconds(300)));
  CHECK(server.onLoop([&] { return seen; }) == std::vector<std::string>{"a", "pause"});
  server.onLoop([&] {
    w.connection(1)->resumeRecv();
    return 0;
  });
  REQUIRE(delivered.waitFor(4));
  CHECK(server.onLoop([&] { return seen; }) == std::vector<std::string>{"a", "pause", "b", "c"});
}
