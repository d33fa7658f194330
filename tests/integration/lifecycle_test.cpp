// Connection lifecycle: close() flushes, destroy() does not, exceptions close only their
// connection, callbacks fire once in order, ids outlive nothing.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "event_counter.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/resolve.h"
#include "wman/serve.h"

using namespace wman;
using namespace wman::test;

TEST_CASE("close() flushes pending data before closing") {
  Worker w("tcp://127.0.0.1:0");
  const std::string big(4 * 1024 * 1024, 'q');
  w.limits.max_send_buffer = 8 * 1024 * 1024;
  EventCounter closed;
  w.onConnect = [&](Connection& c) {
    c.send(big);
    c.close("tail");
    // Closing: further sends are refused, close is idempotent.
    CHECK(c.state() == ConnectionState::Closing);
    CHECK(c.send("late") == SendStatus::Dropped);
    c.close();
  };
  w.onClose = [&](Connection& c) {
    CHECK(c.state() == ConnectionState::Closed);
    CHECK(c.send("x") == SendStatus::Dropped);
    closed.add();
  };
  TestServer server({&w});
  TestClient client(w.port(), 4096);
  std::string got = client.readUntilClosed(std::chrono::seconds(20));
  CHECK(got.size() == big.size() + 4);
  CHECK(got.substr(big.size()) == "tail");
  REQUIRE(closed.waitFor(1));
  CHECK(closed.count() == 1);
}

TEST_CASE("destroy() closes at once and discards unsent data") {
  Worker w("tcp://127.0.0.1:0");
  EventCounter closed;
  w.onConnect = [&](Connection& c) {
    c.send("never sent");
    c.destroy();
    c.destroy();
  };
  w.onClose = [&](Connection&) { closed.add(); };
  TestServer server({&w});
  TestClient client(w.port());
  CHECK(client.readUntilClosed() == "");
  REQUIRE(closed.waitFor(1));
  CHECK_FALSE(closed.waitFor(2, std::chrono::milliseconds(100)));
}

TEST_CASE("an exception in onMessage closes that connection only") {
  Worker w("text://127.0.0.1:0");
  installBuiltinApp("echo", w);
  auto echo = w.onMessage;
  w.onMessage = [echo](Connection& c, Message m) {
    if (m.view() == "boom") throw std::runtime_error("application bug");
    echo(c, m);
  };
  EventCounter closed;
  w.onClose = [&](Connection&) { closed.add(); };
  TestServer server({&w});
  TestClient good(w.port());
  TestClient bad(w.port());
  good.send("before\n");
  CHECK(good.recvLine() == "before\n");
  bad.send("boom\nignored\n");
  CHECK(bad.closedWithin(std::chrono::seconds(5)));
  REQUIRE(closed.waitFor(1));
  good.send("after\n");
  CHECK(good.recvLine() == "after\n");
  CHECK(w.stats().callback_errors == 1);
  // The server still accepts new connections.
  TestClient fresh(w.port());
  fresh.send("new\n");
  CHECK(fresh.recvLine() == "new\n");
}

TEST_CASE("exceptions in onConnect and onClose are contained too") {
  Worker w("text://127.0.0.1:0");
  EventCounter closes;
  w.onConnect = [](Connection&) { throw 42; };
  w.onClose = [&](Connection&) {
    closes.add();
    throw std::runtime_error("in onClose");
  };
  TestServer server({&w});
  TestClient a(w.port());
  CHECK(a.closedWithin(std::chrono::seconds(5)));
  TestClient b(w.port());
  CHECK(b.closedWithin(std::chrono::seconds(5)));
  CHECK(closes.waitFor(2));
}

TEST_CASE("callbacks fire once each, in order, with addresses and counters") {
  Worker w("text://127.0.0.1:0");
  std::mutex m;
  std::vector<std::string> events;
  EventCounter closed;
  std::string remote, local;
  std::uint64_t in = 0, out = 0;
  w.onConnect = [&](Connection& c) {
    std::lock_guard<std::mutex> lock(m);
    events.push_back("connect " + std::to_string(c.id()));
    remote = c.remoteAddress();
    local = c.localAddress();
    CHECK(c.remoteIp() == "127.0.0.1");
    CHECK(c.remotePort() != 0);
  };
  w.onMessage = [&](Connection& c, Message msg) {
    std::lock_guard<std::mutex> lock(m);
    events.push_back("message " + msg.str());
    CHECK(msg.isText());
    c.send(msg);
  };
  w.onClose = [&](Connection& c) {
    {
      std::lock_guard<std::mutex> lock(m);
      events.push_back("close " + std::to_string(c.id()));
      in = c.bytesRead();
      out = c.bytesWritten();
    }
    closed.add();
  };
  TestServer server({&w});
  {
    TestClient c(w.port());
    c.send("hi\n");
    CHECK(c.recvLine() == "hi\n");
  }
  REQUIRE(closed.waitFor(1));
  std::lock_guard<std::mutex> lock(m);
  CHECK(events == std::vector<std::string>{"connect 1", "message hi", "close 1"});
  CHECK(remote.rfind("127.0.0.1:", 0) == 0);
  CHECK(local == "127.0.0.1:" + std::to_string(w.port()));
  CHECK(in == 3);
  CHECK(out == 3);
}

TEST_CASE("Worker::send by id reaches a live connection and says NotConnected after") {
  Worker w("text://127.0.0.1:0");
  EventCounter connected, closed;
  w.onConnect = [&](Connection&) { connected.add(); };
  w.onClose = [&](Connection&) { closed.add(); };
  TestServer server({&w});
  TestClient c(w.port());
  REQUIRE(connected.waitFor(1));
  CHECK(server.onLoop([&] { return w.send(1, "pushed"); }) == SendStatus::Ok);
  CHECK(c.recvLine() == "pushed\n");
  c.close();
  REQUIRE(closed.waitFor(1));
  CHECK(server.onLoop([&] { return w.send(1, "gone"); }) == SendStatus::NotConnected);
  CHECK(server.onLoop([&] { return w.connection(1) == nullptr; }));
}

TEST_CASE("graceful stop flushes and closes every connection and runs onWorkerStop") {
  Worker w("tcp://127.0.0.1:0");
  EventCounter started, stopped, closed;
  w.onWorkerStart = [&](Worker&) { started.add(); };
  w.onWorkerStop = [&](Worker&) { stopped.add(); };
  w.onClose = [&](Connection&) { closed.add(); };
  w.onMessage = [&](Connection& c, Message m) { c.send(std::string(200000, 'g')); };
  auto server = std::make_unique<TestServer>(std::vector<Worker*>{&w});
  CHECK(started.count() == 1);
  TestClient a(w.port());
  TestClient b(w.port());
  a.send("x");
  CHECK(a.recvExactly(200000).size() == 200000);
  b.send("y");
  CHECK(b.recvExactly(1000).size() == 1000);
  server->stop(true);
  CHECK(stopped.count() == 1);
  CHECK(closed.count() == 2);
  CHECK(b.readUntilClosed().size() == 199000);
  CHECK(a.closedWithin(std::chrono::seconds(5)));
}

TEST_CASE("a listener that cannot bind reports the error and leaves nothing open") {
  Worker first("text://127.0.0.1:0");
  TestServer server({&first});
  Worker clash("text://127.0.0.1:" + std::to_string(first.port()));
  CHECK_THROWS_WITH(TestServer({&clash}), Catch::Contains("address already in use"));
}

TEST_CASE("a listener on a host that does not resolve fails with the resolver's reason") {
  Worker nowhere("text://no-such-host.invalid:0");
  // The same reason the shared resolver gives; which one depends on the local resolver.
  const std::string reason = wman::resolve("no-such-host.invalid", 0).error.message();
  REQUIRE_FALSE(reason.empty());
  CHECK_THROWS_WITH(TestServer({&nowhere}),
                    Catch::Contains("no-such-host.invalid") && Catch::EndsWith(reason));
}

TEST_CASE("a handler may destroy a connection whose input waits in the same batch of events") {
  // The loop hands out readiness for many sockets at once; a connection destroyed by a
  // handler earlier in the batch is still named by its own event later in it, and must be
  // skipped, not read from freed memory (the sanitizer build would report it).
  Worker w("text://127.0.0.1:0");
  std::vector<ConnectionId> ids;
  int messages = 0;
  EventCounter opened, closed;
  w.onConnect = [&](Connection& c) {
    ids.push_back(c.id());
    opened.add();
  };
  w.onMessage = [&](Connection& c, Message) {
    ++messages;
    for (ConnectionId id : ids) {
      if (Connection* other = id == c.id() ? nullptr : w.connection(id)) other->destroy();
    }
    c.send("ok");  // one line: the text protocol ends it
  };
  w.onClose = [&](Connection&) { closed.add(); };
  TestServer server({&w});
  TestClient a(w.port());
  TestClient b(w.port());
  REQUIRE(opened.waitFor(2));
  // Both lines reach the server's sockets while its loop cannot run: it sees both in one
  // wait, and whichever it handles first destroys the other.
  server.whileLoopHeld([&] {
    a.send("one\n");
    b.send("two\n");
  });
  REQUIRE(closed.waitFor(1));
  CHECK(server.onLoop([&] { return messages; }) == 1);
  CHECK(server.onLoop([&] { return w.connections().size(); }) == 1u);
  // The survivor answered its line, and is served as before; the other was closed.
  std::string first_a, first_b;
  try {
    first_a = a.recvLine();
  } catch (const std::runtime_error&) {
  }
  try {
    first_b = b.recvLine();
  } catch (const std::runtime_error&) {
  }
  INFO("a got '" << first_a << "', b got '" << first_b << "'");
  REQUIRE((first_a == "ok\n") != (first_b == "ok\n"));
  TestClient& survivor = first_a == "ok\n" ? a : b;
  survivor.send("three\n");
  CHECK(survivor.recvLine() == "ok\n");
}

TEST_CASE("an answer goes out after what its handler queued for other connections") {
  // A handler that sends to another connection and then answers its own peer: the answer
  // must not reach its peer first. A client told "joined" may at once ask another worker
  // to message the group, and that must find the join already sent to the bus.
  using namespace std::chrono_literals;
  Worker w("text://127.0.0.1:0");
  std::vector<ConnectionId> ids;  // in connect order: x, y, z
  bool x_answered = false;
  EventCounter opened;
  w.onConnect = [&](Connection& c) {
    ids.push_back(c.id());
    opened.add();
  };
  w.onMessage = [&](Connection& c, Message) {
    if (c.id() == ids[0]) {
      w.connection(ids[1])->send("for y");
      c.send("done");
      x_answered = true;
    } else if (c.id() == ids[2] && x_answered) {
      // A slow handler later in the same batch holds the loop between x's input and the
      // next flush pass: an answer written ahead of the pass would arrive 300 ms before
      // y's message.
      std::this_thread::sleep_for(300ms);
    }
  };
  TestServer server({&w});
  TestClient x(w.port());
  REQUIRE(opened.waitFor(1));
  TestClient y(w.port());
  REQUIRE(opened.waitFor(2));
  TestClient z(w.port());
  REQUIRE(opened.waitFor(3));
  server.whileLoopHeld([&] {
    x.send("go\n");
    z.send("slow\n");
  });
  REQUIRE(x.recvLine() == "done\n");
  // y's message went out before x's answer: it waits in y's socket already.
  CHECK(y.recvSome(64, 0ms) == "for y\n");
}
