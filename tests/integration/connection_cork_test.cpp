// The cork: what a connection sends while its input is handled gathers in its loop's
// shared buffer and is written as soon as that read is handled, so a connection whose
// replies go out at once never takes an output buffer of its own. These cases are the
// ones where a reply does not simply go out with the read: the kernel takes only part,
// the input also queued output for another connection, the connection closes, or the
// sends reach max_send_buffer. Whatever happens, nothing is lost, nothing is reordered,
// and the cork is free again for the next read.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "event_counter.h"
#include "held_bytes.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"

using namespace wman;
using namespace wman::test;

namespace {

// True when the loop's cork is free and empty (between reads it always must be).
bool corkFree(TestServer& server, Worker& w) {
  return server.onLoop([&w] {
    const detail::EventLoop::Cork& cork = w.runtime().loop().cork();
    return cork.owner == nullptr && cork.data.empty();
  });
}

}  // namespace

TEST_CASE("replies to one read that the socket cannot take at once arrive whole and in order") {
  Worker w("text://127.0.0.1:0");
  w.limits.max_send_buffer = 4 * 1024 * 1024;
  const std::string body(8000, 'x');
  w.onMessage = [&](Connection& c, Message m) {
    if (m.view() != "big") {
      c.send(m.view());
      return;
    }
    // 1.6 MB of replies to one read: more than a loopback socket takes, so the write
    // from the cork leaves the rest for when the peer reads.
    for (int i = 0; i < 200; ++i) c.send(std::to_string(i) + ":" + body);
  };
  TestServer server({&w});
  TestClient c(w.port(), 4096);
  c.send("big\n");
  for (int i = 0; i < 200; ++i) {
    const std::string line = c.recvLine();
    REQUIRE(line == std::to_string(i) + ":" + body + "\n");
  }
  CHECK(corkFree(server, w));
  // The next read's reply is its own, with nothing of the last one before it.
  c.send("after\n");
  CHECK(c.recvLine() == "after\n");
  CHECK(corkFree(server, w));
  CHECK(heldByConnections(server, w) == 0);
}

TEST_CASE("a reply that follows output queued for another connection still arrives") {
  Worker w("text://127.0.0.1:0");
  std::vector<ConnectionId> ids;
  EventCounter connected;
  w.onConnect = [&](Connection& c) {
    ids.push_back(c.id());
    connected.add();
  };
  w.onMessage = [&](Connection& c, Message m) {
    // Output for another connection first: the reply then waits for the loop's flush
    // pass, behind it, instead of going out with the read.
    for (ConnectionId id : ids) {
      if (id == c.id()) continue;
      if (Connection* other = w.connection(id)) other->send("from " + m.str());
    }
    c.send("done " + m.str());
  };
  TestServer server({&w});
  TestClient a(w.port());
  TestClient b(w.port());
  REQUIRE(connected.waitFor(2, std::chrono::seconds(5)));
  a.send("one\n");
  CHECK(b.recvLine() == "from one\n");
  CHECK(a.recvLine() == "done one\n");
  b.send("two\n");
  CHECK(a.recvLine() == "from two\n");
  CHECK(b.recvLine() == "done two\n");
  CHECK(corkFree(server, w));
}

TEST_CASE("what a connection queued before it was destroyed never reaches the next one") {
  Worker w("text://127.0.0.1:0");
  w.onMessage = [&](Connection& c, Message m) {
    if (m.view() == "quit") {
      c.send("not for anyone");
      c.destroy();
      return;
    }
    c.send(m.view());
  };
  TestServer server({&w});
  TestClient a(w.port());
  a.send("quit\n");
  CHECK(a.recvSome(64).empty());  // closed, the queued reply discarded with it
  TestClient b(w.port());
  b.send("hello\n");
  CHECK(b.recvLine() == "hello\n");
  CHECK(corkFree(server, w));
}

TEST_CASE("a reply then close in the same handler: the reply, then the end") {
  Worker w("text://127.0.0.1:0");
  w.onMessage = [&](Connection& c, Message m) {
    c.send("bye " + m.str());
    c.close();
  };
  TestServer server({&w});
  TestClient a(w.port());
  a.send("now\n");
  CHECK(a.recvLine() == "bye now\n");
  CHECK(a.recvSome(64).empty());
  CHECK(corkFree(server, w));
}

TEST_CASE("sends while handling input count against max_send_buffer at once") {
  Worker w("text://127.0.0.1:0");
  w.limits.max_send_buffer = 100;
  std::vector<SendStatus> statuses;
  std::vector<std::size_t> buffered;
  int full = 0;
  int drained = 0;
  w.onBufferFull = [&](Connection&) { ++full; };
  w.onBufferDrain = [&](Connection&) { ++drained; };
  w.onMessage = [&](Connection& c, Message) {
    for (int i = 0; i < 3; ++i) {
      statuses.push_back(c.send(std::string(59, 'a' + i)));  // 60 bytes with the newline
      buffered.push_back(c.bufferedAmount());
    }
  };
  TestServer server({&w});
  TestClient a(w.port());
  a.send("go\n");
  CHECK(a.recvLine() == std::string(59, 'a') + "\n");
  CHECK(a.recvLine() == std::string(59, 'b') + "\n");
  server.onLoop([] { return 0; });  // the handler's writes are done once the loop runs this
  CHECK(statuses == std::vector<SendStatus>{SendStatus::Ok, SendStatus::Ok, SendStatus::Dropped});
  CHECK(buffered == std::vector<std::size_t>{60, 120, 120});
  CHECK(full == 1);
  CHECK(drained == 1);
  CHECK(corkFree(server, w));
}

TEST_CASE("a small reply then a large one in the same handler keep their order") {
  Worker w("text://127.0.0.1:0");
  const std::string large(100 * 1024, 'L');  // written from where it lies (gathered)
  w.onMessage = [&](Connection& c, Message) {
    c.send("first");
    c.send(large);
    c.send("last");
  };
  TestServer server({&w});
  TestClient a(w.port());
  a.send("go\n");
  CHECK(a.recvLine() == "first\n");
  CHECK(a.recvLine() == large + "\n");
  CHECK(a.recvLine() == "last\n");
  CHECK(corkFree(server, w));
  CHECK(heldByConnections(server, w) == 0);
}
