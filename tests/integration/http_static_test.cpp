// http:// workers on real sockets, part two: static files (sendfile, and the copy path when
// the socket is full), conditional and range requests, path escapes, and WebSocket sessions
// on the same port.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "event_counter.h"
#include "http_test_client.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"
#include "ws_test_client.h"

using namespace wman;
using namespace wman::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A temporary document root, removed with the object.
struct Root {
  fs::path dir;
  Root() {
    char tmpl[] = "/tmp/wman-http-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Root() { fs::remove_all(dir); }
  void write(const std::string& name, const std::string& content) const {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name, std::ios::binary) << content;
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

}  // namespace

TEST_CASE("http static: files, index, 304, ranges and escapes over real sockets") {
  Root root;
  root.write("index.html", "<h1>hi</h1>");
  root.write("data.bin", pattern(300000));
  Worker w("http://127.0.0.1:0");
  w.http.root = root.dir.string();
  TestServer server({&w});
  TestClient c(w.port());

  c.send(httpGet("/"));
  HttpReply index = httpRead(c);
  CHECK(index.status == 200);
  CHECK(index.body == "<h1>hi</h1>");
  CHECK(index.header("Content-Type").rfind("text/html", 0) == 0);

  c.send(httpGet("/data.bin"));
  HttpReply data = httpRead(c);
  CHECK(data.status == 200);
  CHECK(data.body == pattern(300000));
  const std::string etag = data.header("ETag");
  REQUIRE(!etag.empty());

  // The same connection goes on after a file body: its framing was kept.
  c.send(httpGet("/data.bin", "If-None-Match: " + etag + "\r\n"));
  CHECK(httpRead(c).status == 304);
  c.send(httpGet("/data.bin", "Range: bytes=100-199\r\n"));
  HttpReply part = httpRead(c);
  CHECK(part.status == 206);
  CHECK(part.body == pattern(300000).substr(100, 100));
  CHECK(part.header("Content-Range") == "bytes 100-199/300000");
  c.send(httpGet("/data.bin", "Range: bytes=400000-\r\n"));
  CHECK(httpRead(c).status == 416);
  c.send(httpGet("/../etc/passwd"));
  CHECK(httpRead(c).status == 400);
  c.send(httpGet("/%2e%2e/etc/passwd"));
  CHECK(httpRead(c).status == 400);
  c.send(httpGet("/nothing"));
  CHECK(httpRead(c).status == 404);
  c.send("POST /data.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx");
  CHECK(httpRead(c).status == 405);
}

TEST_CASE("http static: a large file reaches a slow reader whole") {
  Root root;
  const std::string big = pattern(3 * 1024 * 1024 + 17);
  root.write("big.bin", big);
  Worker w("http://127.0.0.1:0");
  w.http.root = root.dir.string();
  TestServer server({&w});
  // A small receive buffer fills the socket at once: the rest goes through the send queue
  // piece by piece as it drains.
  TestClient c(w.port(), 4096);
  c.send(httpGet("/big.bin") + httpGet("/big.bin", "Range: bytes=-5\r\n"));
  HttpReply r = httpRead(c);
  CHECK(r.status == 200);
  CHECK(r.body.size() == big.size());
  CHECK(r.body == big);
  HttpReply tail = httpRead(c);
  CHECK(tail.status == 206);
  CHECK(tail.body == big.substr(big.size() - 5));
}

TEST_CASE("http static: no root answers 404, and onRequest can fall back to the files") {
  Root root;
  root.write("a.txt", "file a");
  Worker bare("http://127.0.0.1:0");
  Worker app("http://127.0.0.1:0");
  app.http.root = root.dir.string();
  app.onRequest = [](Request& req, Response& res) {
    if (req.path == "/api") return void(res.end("api"));
    res.serveStatic();
  };
  TestServer server({&bare, &app});
  TestClient b(bare.port());
  b.send(httpGet("/a.txt"));
  CHECK(httpRead(b).status == 404);
  TestClient a(app.port());
  a.send(httpGet("/api") + httpGet("/a.txt"));
  CHECK(httpRead(a).body == "api");
  CHECK(httpRead(a).body == "file a");
}

TEST_CASE("http: WebSocket paths upgrade to the app's sessions on the same port") {
  Worker w("http://127.0.0.1:0");
  w.http.websocket = {"/chat"};
  installBuiltinApp("echo", w);
  EventCounter connects, closes;
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onClose = [&](Connection&) { closes.add(); };
  w.onRequest = [](Request& req, Response& res) { res.end("page " + std::string(req.path)); };
  TestServer server({&w});

  // Plain requests first, then the upgrade, on one connection.
  TestClient c(w.port());
  c.send(httpGet("/index"));
  CHECK(httpRead(c).body == "page /index");
  c.send(wsUpgrade());  // GET /chat?room=1
  const std::string head = wsReadHead(c);
  CHECK(head.rfind("HTTP/1.1 101", 0) == 0);
  REQUIRE(connects.waitFor(1));
  c.send(wsFrame(0x81, "hello"));
  WsFrame echo = wsReadFrame(c);
  REQUIRE(echo.ok);
  CHECK(echo.payload == "hello");

  // An upgrade to another path is answered as plain HTTP.
  TestClient other(w.port());
  other.send(
      "GET /elsewhere HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  CHECK(httpRead(other).body == "page /elsewhere");
  // A bad handshake on the WebSocket path is refused like on a websocket:// worker.
  TestClient bad(w.port());
  bad.send("GET /chat HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  CHECK(httpRead(bad).status == 400);
  CHECK(connects.count() == 1);

  c.send(wsFrame(0x88, wsClosePayload(1000)));
  CHECK(wsReadFrame(c).opcode() == 0x8);
  REQUIRE(closes.waitFor(1));
}

TEST_CASE("http: the chat app works unchanged on a WebSocket path (bus sends reach it)") {
  Worker w("http://127.0.0.1:0");
  w.http.websocket = {"/chat"};
  installBuiltinApp("chat", w);
  TestServer server({&w});
  TestClient c(w.port());
  c.send(wsUpgrade());
  CHECK(wsReadHead(c).rfind("HTTP/1.1 101", 0) == 0);
  // The chat greets the room through the bus, whose fan-out encodes once per worker.
  WsFrame joined = wsReadFrame(c);
  REQUIRE(joined.ok);
  CHECK(joined.opcode() == 0x1);
  CHECK(joined.payload.find(" joined") != std::string::npos);
  c.send(wsFrame(0x81, "hi"));
  WsFrame said = wsReadFrame(c);
  REQUIRE(said.ok);
  CHECK(said.payload.ends_with(": hi"));
}
