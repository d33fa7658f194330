// http:// workers on real sockets: keep-alive, pipelining, chunked bodies both ways,
// 100-continue, the limits and timeouts with their status codes, streamed bodies, Server-Sent
// Events, and a graceful stop.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "event_counter.h"
#include "http_smuggling_shapes.h"
#include "http_test_client.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"

using namespace wman;
using namespace wman::test;
using namespace std::chrono_literals;

namespace {

// Answers "METHOD PATH?QUERY body" so tests see what the request carried.
void installMirror(Worker& w) {
  w.onRequest = [](Request& req, Response& res) {
    res.header("Content-Type", "text/plain");
    res.end(std::string(req.method) + " " + std::string(req.path) + "?" + std::string(req.query) +
            " " + std::string(req.body));
  };
}

}  // namespace

TEST_CASE("http: keep-alive carries several requests, each answered by onRequest") {
  Worker w("http://127.0.0.1:0");
  installMirror(w);
  EventCounter connects;
  w.onConnect = [&](Connection&) { connects.add(); };
  TestServer server({&w});
  TestClient c(w.port());
  for (int i = 0; i < 3; ++i) {
    c.send(httpGet("/a/" + std::to_string(i) + "?x=1"));
    HttpReply r = httpRead(c);
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.body == "GET /a/" + std::to_string(i) + "?x=1 ");
    CHECK(r.header("Content-Type") == "text/plain");
    CHECK(!r.header("Date").empty());
  }
  // HTTP traffic is not a session: onConnect is for WebSocket paths only.
  CHECK(connects.count() == 0);
  c.send("GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  HttpReply last = httpRead(c);
  CHECK(last.header("Connection") == "close");
  CHECK(c.closedWithin(5s));
  CHECK(w.stats().http_responses[1] == 4);
}

TEST_CASE("http: pipelined requests are answered in order, also when one answers later") {
  Worker w("http://127.0.0.1:0");
  std::vector<Response> parked;
  EventCounter slow_seen;
  w.onRequest = [&](Request& req, Response& res) {
    if (req.path == "/slow") {
      parked.push_back(res);  // answered from outside the callback, after the others arrived
      return slow_seen.add();
    }
    res.end(std::string(req.path));
  };
  TestServer server({&w});
  TestClient c(w.port());
  c.send(httpGet("/one") + httpGet("/slow") + httpGet("/three"));
  HttpReply one = httpRead(c);
  CHECK(one.body == "/one");
  REQUIRE(slow_seen.waitFor(1));
  CHECK(c.recvSome(1, 100ms).empty());  // /three waits behind /slow
  server.onLoop([&] {
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].active());
    parked[0].status(201).end("late");
    CHECK(!parked[0].active());
    CHECK(parked[0].end("again") == SendStatus::NotConnected);
  });
  HttpReply slow = httpRead(c);
  CHECK(slow.status == 201);
  CHECK(slow.body == "late");
  CHECK(httpRead(c).body == "/three");
}

TEST_CASE("http: chunked request bodies are de-chunked, streamed responses are chunked") {
  Worker w("http://127.0.0.1:0");
  w.onRequest = [](Request& req, Response& res) {
    res.write("got ");
    res.write(req.body);
    res.end();
  };
  TestServer server({&w});
  TestClient c(w.port());
  c.send(
      "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  HttpReply r = httpRead(c);
  REQUIRE(r.ok);
  CHECK(r.header("Transfer-Encoding") == "chunked");
  CHECK(r.body == "got hello world");
}

TEST_CASE("http: Expect 100-continue gets the go-ahead before the body") {
  Worker w("http://127.0.0.1:0");
  installMirror(w);
  TestServer server({&w});
  TestClient c(w.port());
  c.send("PUT /f HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  HttpReply go = httpRead(c);
  CHECK(go.status == 100);
  c.send("data");
  HttpReply r = httpRead(c);
  CHECK(r.status == 200);
  CHECK(r.body == "PUT /f? data");
}

TEST_CASE("http: HEAD gets the head a GET would, without the body") {
  Worker w("http://127.0.0.1:0");
  installMirror(w);
  TestServer server({&w});
  TestClient c(w.port());
  c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + httpGet("/after"));
  HttpReply head = httpRead(c, true);
  CHECK(head.status == 200);
  CHECK(head.header("Content-Length") == "9");  // "HEAD /h? "
  CHECK(httpRead(c).body == "GET /after? ");
}

TEST_CASE("http: limits answer 431, 413 and 400, closing only that connection") {
  Worker w("http://127.0.0.1:0");
  installMirror(w);
  w.http.max_header_size = 1024;
  w.http.max_body_size = 10;
  TestServer server({&w});
  TestClient good(w.port());
  TestClient big_head(w.port());
  big_head.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  CHECK(httpRead(big_head).status == 431);
  CHECK(big_head.closedWithin(5s));
  TestClient big_body(w.port());
  big_body.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n");
  CHECK(httpRead(big_body).status == 413);
  TestClient smuggle(w.port());
  smuggle.send(
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  CHECK(httpRead(smuggle).status == 400);
  CHECK(smuggle.closedWithin(5s));
  good.send(httpGet("/fine"));
  CHECK(httpRead(good).body == "GET /fine? ");
  CHECK(w.stats().http_responses[3] == 3);
}

TEST_CASE("http: a head or a body that does not finish in time gets 408; idle keep-alive closes") {
  Worker w("http://127.0.0.1:0");
  installMirror(w);
  w.http.header_timeout = 200ms;
  w.http.body_timeout = 200ms;
  w.http.keepalive_timeout = 300ms;
  TestServer server({&w});
  TestClient head(w.port());
  head.send("GET / HTTP/1.1\r\nHost:");
  HttpReply r1 = httpRead(head);
  CHECK(r1.status == 408);
  CHECK(head.closedWithin(5s));
  TestClient body(w.port());
  body.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  CHECK(httpRead(body).status == 408);
  TestClient idle(w.port());
  idle.send(httpGet("/x"));
  CHECK(httpRead(idle).status == 200);
  const auto before = std::chrono::steady_clock::now();
  CHECK(idle.closedWithin(5s));
  CHECK(std::chrono::steady_clock::now() - before >= 250ms);
}

TEST_CASE("http: stream_body hands the body over in pieces") {
  Worker w("http://127.0.0.1:0");
  w.http.stream_body = true;
  std::string seen;
  w.onRequest = [&](Request& req, Response&) {
    CHECK(req.body.empty());
    seen = "head;";
  };
  w.onRequestBody = [&](Response& res, std::string_view piece, bool last) {
    seen += std::string(piece);
    if (last) res.end("received " + std::to_string(seen.size() - 5));
  };
  TestServer server({&w});
  TestClient c(w.port());
  c.send("POST /s HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc");
  c.send("def");
  HttpReply r = httpRead(c);
  CHECK(r.body == "received 6");
  server.onLoop([&] { CHECK(seen == "head;abcdef"); });
}

TEST_CASE("http: Server-Sent Events stream one event per call") {
  Worker w("http://127.0.0.1:0");
  std::vector<Response> streams;
  w.onRequest = [&](Request&, Response& res) {
    res.startEvents();
    res.event("hello");
    streams.push_back(res);
  };
  TestServer server({&w});
  TestClient c(w.port());
  c.send(httpGet("/events"));
  std::string head = httpReadHead(c);
  CHECK(head.find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(head.find("Transfer-Encoding: chunked") != std::string::npos);
  server.onLoop([&] {
    REQUIRE(streams.size() == 1);
    streams[0].event("two\nlines", "update", "7");
    streams[0].end();
  });
  std::string rest;
  while (rest.find("0\r\n\r\n") == std::string::npos) {
    std::string more = c.recvSome(4096);
    if (more.empty()) break;
    rest += more;
  }
  CHECK(rest.find("data: hello\n\n") != std::string::npos);
  CHECK(rest.find("event: update\nid: 7\ndata: two\ndata: lines\n\n") != std::string::npos);
}

TEST_CASE("http: a throwing onRequest answers 500 and closes only that connection") {
  Worker w("http://127.0.0.1:0");
  w.onRequest = [](Request& req, Response& res) {
    if (req.path == "/boom") throw std::runtime_error("boom");
    res.end("ok");
  };
  TestServer server({&w});
  TestClient bad(w.port());
  TestClient good(w.port());
  bad.send(httpGet("/boom"));
  CHECK(httpRead(bad).status == 500);
  CHECK(bad.closedWithin(5s));
  good.send(httpGet("/"));
  CHECK(httpRead(good).body == "ok");
  CHECK(w.stats().callback_errors == 1);
}

TEST_CASE(
    "http: a graceful stop ends idle connections after a grace, busy ones after their answer") {
  Worker w("http://127.0.0.1:0");
  std::vector<Response> parked;
  EventCounter busy_seen;
  w.onRequest = [&](Request& req, Response& res) {
    if (req.path == "/busy") {
      parked.push_back(res);
      return busy_seen.add();
    }
    res.end("ok");
  };
  TestServer server({&w});
  TestClient idle(w.port());
  idle.send(httpGet("/"));
  CHECK(httpRead(idle).status == 200);
  TestClient late(w.port());
  late.send(httpGet("/"));
  CHECK(httpRead(late).status == 200);
  TestClient busy(w.port());
  busy.send(httpGet("/busy"));
  REQUIRE(busy_seen.waitFor(1));
  std::promise<void> all_closed;
  auto stopped = all_closed.get_future();
  server.onLoop([&] { w.runtime().stop(true, [&] { all_closed.set_value(); }); });
  // A request already on its way when the stop began is answered, not cut off.
  late.send(httpGet("/after"));
  HttpReply after = httpRead(late);
  CHECK(after.status == 200);
  CHECK(after.header("Connection") == "close");
  CHECK(late.closedWithin(5s));
  CHECK(idle.closedWithin(5s));
  server.onLoop([&] { parked[0].end("finished"); });
  HttpReply r = httpRead(busy);
  CHECK(r.body == "finished");
  CHECK(r.header("Connection") == "close");
  CHECK(busy.closedWithin(5s));
  // The server lingers on connections it told to close until their peers close too.
  for (TestClient* c : {&idle, &late, &busy}) c->close();
  CHECK(stopped.wait_for(5s) == std::future_status::ready);
}

TEST_CASE("http: every refused request shape gets its status on a real socket and closes") {
  Worker w("http://127.0.0.1:0");
  installMirror(w);
  TestServer server({&w});
  for (const SmugglingShape& shape : allRefusedShapes()) {
    INFO(shape.what);
    TestClient c(w.port());
    c.send(shape.input);
    HttpReply r = httpRead(c);
    CHECK(r.status == shape.status);
    CHECK(r.header("Connection") == "close");
    CHECK(c.closedWithin(5s));
  }
  TestClient good(w.port());
  good.send(httpGet("/still"));
  CHECK(httpRead(good).body == "GET /still? ");
}

TEST_CASE("http: the keep-alive clock restarts after every response") {
  Worker w("http://127.0.0.1:0");
  installMirror(w);
  w.http.keepalive_timeout = 1000ms;
  TestServer server({&w});
  TestClient c(w.port());
  // Four requests 400 ms apart span 1.6 s on one connection: each is within the timeout of
  // the answer before it, though not of the first.
  for (int i = 0; i < 4; ++i) {
    if (i > 0) std::this_thread::sleep_for(400ms);  // the time that passes is the subject
    c.send(httpGet("/" + std::to_string(i)));
    HttpReply r = httpRead(c);
    REQUIRE(r.ok);
    CHECK(r.body == "GET /" + std::to_string(i) + "? ");
  }
}

TEST_CASE("http: a flood of pipelined requests behind a slow answer is held, then answered") {
  Worker w("http://127.0.0.1:0");
  std::vector<Response> parked;
  EventCounter slow_seen;
  std::size_t answered = 0;
  w.onRequest = [&](Request& req, Response& res) {
    if (req.path == "/slow") {
      parked.push_back(res);
      return slow_seen.add();
    }
    ++answered;
    res.end("k");
  };
  TestServer server({&w});
  TestClient c(w.port());
  std::string flood = httpGet("/slow");
  const int n = 5000;  // about 150 KiB of requests, past what is held before reading stops
  for (int i = 0; i < n; ++i) flood += httpGet("/f");
  c.send(flood);
  REQUIRE(slow_seen.waitFor(1));
  server.onLoop([&] {
    CHECK(answered == 0);
    parked[0].end("slow");
  });
  CHECK(httpRead(c).body == "slow");
  for (int i = 0; i < n; ++i) {
    HttpReply r = httpRead(c);
    REQUIRE(r.ok);
    REQUIRE(r.body == "k");
  }
  server.onLoop([&] { CHECK(answered == static_cast<std::size_t>(n)); });
}
