// What a connection holds while idle: its buffers, write request and message clock live in
// one block taken only while it is busy, so an idle connection holds none of them.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "held_bytes.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"

using namespace wman;
using namespace wman::test;

namespace {

// Polls `done` until it holds or 5 s pass: the server reads at its own pace.
template <typename Fn>
bool eventually(Fn done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("an idle connection holds no buffers between messages") {
  Worker w("text://127.0.0.1:0");
  REQUIRE(installBuiltinApp("echo", w));
  TestServer server({&w});
  TestClient c(w.port());
  c.send("hello\n");
  CHECK(c.recvLine() == "hello\n");
  CHECK(heldByConnections(server, w) == 0);

  // Half a line is held until the rest comes (the echo of the line before it says the
  // server has read it); then the block goes back.
  c.send("x\n" + std::string(3000, 'a'));
  CHECK(c.recvLine() == "x\n");
  CHECK(eventually([&] { return heldByConnections(server, w) >= 3000; }));
  c.send("b\n");
  CHECK(c.recvLine() == std::string(3000, 'a') + "b\n");
  CHECK(heldByConnections(server, w) == 0);
  // The unfinished-message clock stopped with the line's end.
  CHECK(server.onLoop([&w] {
    for (const auto& [id, conn] : w.runtime().connections()) {
      if (detail::ConnectionImpl::from(*conn)->partialSince() != 0) return false;
    }
    return true;
  }));
}

TEST_CASE("a connection takes its busy block only while it holds bytes") {
  Worker w("text://127.0.0.1:0");
  REQUIRE(installBuiltinApp("echo", w));
  TestServer server({&w});
  TestClient c(w.port());
  c.send("a\n");
  CHECK(c.recvLine() == "a\n");
  // Many small lines in one write: decoded in place from the read buffer, echoed in one
  // flush, nothing left behind.
  std::string batch;
  for (int i = 0; i < 100; ++i) batch += "line " + std::to_string(i) + "\n";
  c.send(batch);
  std::string echoed;
  for (int i = 0; i < 100; ++i) echoed += c.recvLine();
  CHECK(echoed == batch);
  CHECK(heldByConnections(server, w) == 0);
}
