// Limits a peer controls close only the offending connection.
#include <uv.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <vector>

#include "detail/event_loop.h"
#include "event_counter.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"

using namespace wman;
using namespace wman::test;

TEST_CASE("a line longer than max_package_size closes only that connection") {
  Worker w("text://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.limits.max_package_size = 1024;
  EventCounter errors;
  int last_code = 0;
  w.onError = [&](Connection&, int code, std::string_view) {
    last_code = code;
    errors.add();
  };
  TestServer server({&w});
  TestClient good(w.port());
  TestClient bad(w.port());
  good.send(std::string(1000, 'a') + "\n");
  CHECK(good.recvLine().size() == 1001);
  bad.send(std::string(5000, 'x'));  // no newline: the limit trips before one arrives
  CHECK(bad.closedWithin(std::chrono::seconds(5)));
  REQUIRE(errors.waitFor(1));
  CHECK(last_code == codec_error::kTooLarge);
  good.send("still here\n");
  CHECK(good.recvLine() == "still here\n");
  CHECK(w.stats().protocol_errors == 1);
}

TEST_CASE("a frame declaring more than max_package_size closes only that connection") {
  Worker w("frame://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.limits.max_package_size = 4096;
  TestServer server({&w});
  TestClient good(w.port());
  TestClient bad(w.port());
  bad.send(std::string("\x00\x10\x00\x00", 4));  // declares 1 MiB
  CHECK(bad.closedWithin(std::chrono::seconds(5)));
  TestClient bad_len(w.port());
  bad_len.send(std::string("\x00\x00\x00\x02", 4));  // shorter than its own header
  CHECK(bad_len.closedWithin(std::chrono::seconds(5)));
  good.send(frameOf("ok"));
  CHECK(good.recvExactly(6) == frameOf("ok"));
}

TEST_CASE("max_connections refuses connections beyond the limit") {
  Worker w("text://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.limits.max_connections = 2;
  EventCounter connects, closes;
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onClose = [&](Connection&) { closes.add(); };
  TestServer server({&w});
  TestClient a(w.port());
  TestClient b(w.port());
  REQUIRE(connects.waitFor(2));
  TestClient c(w.port());
  CHECK(c.closedWithin(std::chrono::seconds(5)));
  CHECK(connects.count() == 2);
  a.send("a\n");
  CHECK(a.recvLine() == "a\n");
  // A slot frees up when one closes.
  b.close();
  REQUIRE(closes.waitFor(1));
  TestClient d(w.port());
  REQUIRE(connects.waitFor(3));
  d.send("d\n");
  CHECK(d.recvLine() == "d\n");
}

TEST_CASE("idle_timeout closes connections that stay silent") {
  Worker w("text://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.limits.idle_timeout = std::chrono::milliseconds(200);
  TestServer server({&w});
  TestClient idle(w.port());
  CHECK(idle.closedWithin(std::chrono::seconds(5)));
}

TEST_CASE("a mass handshake expiry is closed in bounded batches with I/O between them") {
  // Deterministic: the loop is held while every client connects, so all are accepted within
  // a few passes and share one deadline. A uv_prepare handle runs right before each poll and
  // counts the connections not yet closing: the drop between two samples is what the worker
  // closed without polling for anyone else's I/O in between.
  constexpr std::size_t kClients = 300;
  Worker w("websocket://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.limits.handshake_timeout = std::chrono::milliseconds(300);
  TestServer server({&w});

  struct Probe {
    uv_prepare_t prepare{};
    detail::WorkerRuntime* runtime = nullptr;
    std::size_t last = 0;
    std::vector<std::size_t> closed_between_polls;  // loop thread only
  };
  auto* probe = new Probe;
  probe->runtime = &w.runtime();
  server.onLoop([probe] {
    uv_prepare_init(detail::EventLoop::current()->raw(), &probe->prepare);
    probe->prepare.data = probe;
    uv_prepare_start(&probe->prepare, [](uv_prepare_t* h) {
      auto* p = static_cast<Probe*>(h->data);
      std::size_t live = 0;
      for (const auto& [id, c] : p->runtime->connections()) {
        if (c->state() != ConnectionState::Closed) ++live;
      }
      if (live < p->last) p->closed_between_polls.push_back(p->last - live);
      p->last = live;
    });
    return 0;
  });

  std::vector<TestClient> clients(kClients);
  server.whileLoopHeld([&] {
    for (auto& c : clients) c.connect(w.port());
  });

  for (auto& c : clients) CHECK(c.closedWithin(std::chrono::seconds(10)));
  const auto closed = server.onLoop([probe] {
    auto result = probe->closed_between_polls;
    uv_close(reinterpret_cast<uv_handle_t*>(&probe->prepare),
             [](uv_handle_t* h) { delete static_cast<Probe*>(h->data); });
    return result;
  });
  std::size_t total = 0;
  for (std::size_t n : closed) total += n;
  CHECK(total == kClients);
  REQUIRE(!closed.empty());
  CHECK(*std::max_element(closed.begin(), closed.end()) <= detail::WorkerRuntime::kSweepBatch);
  CHECK(closed.size() >= kClients / detail::WorkerRuntime::kSweepBatch);
}
