// Limits a peer controls close only the offending connection.
#include <catch2/catch.hpp>

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
