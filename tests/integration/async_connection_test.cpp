// AsyncConnection against wman's own servers on the same loop: every scheme, sends queued
// before the link opens, WebSocket with permessage-deflate, connect failures and their
// reasons, the connect timeout, and reconnecting with back-off without leaking fds or timers.
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "event_counter.h"
#include "test_server.h"
#include "tls_test_util.h"
#include "wman/async_connection.h"
#include "wman/serve.h"

using namespace wman;
using namespace wman::test;
using Clock = std::chrono::steady_clock;

namespace {

// What one AsyncConnection reported, filled on the loop thread, read by the test thread
// after an EventCounter said it is there.
struct Seen {
  std::mutex m;
  std::vector<std::string> messages;
  std::vector<std::string> errors;
  EventCounter connects, closes, failures, received;

  void wire(AsyncConnection& c) {
    c.onConnect = [this](Connection&) { connects.add(); };
    c.onClose = [this](Connection&) { closes.add(); };
    c.onMessage = [this](Connection&, Message m) {
      {
        std::lock_guard<std::mutex> lock(this->m);
        messages.emplace_back(m.view());
      }
      received.add();
    };
    c.onError = [this](Connection&, int code, std::string_view why) {
      if (code != error_code::kConnectFail) return;
      {
        std::lock_guard<std::mutex> lock(m);
        errors.emplace_back(why);
      }
      failures.add();
    };
  }
  std::vector<std::string> takeMessages() {
    std::lock_guard<std::mutex> lock(m);
    return messages;
  }
  std::string lastError() {
    std::lock_guard<std::mutex> lock(m);
    return errors.empty() ? std::string() : errors.back();
  }
};

std::unique_ptr<Worker> echoServer(const std::string& url) {
  auto w = std::make_unique<Worker>(url);
  installBuiltinApp("echo", *w);
  return w;
}

// A loopback port nothing listens on (bound, then closed).
std::uint16_t closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::size_t openFds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

std::size_t timerHandles(detail::EventLoop& loop) {
  std::size_t n = 0;
  uv_walk(
      loop.raw(),
      [](uv_handle_t* h, void* arg) {
        if (h->type == UV_TIMER && !uv_is_closing(h)) ++*static_cast<std::size_t*>(arg);
      },
      &n);
  return n;
}

}  // namespace

TEST_CASE("AsyncConnection speaks every scheme with wman's own servers") {
  const std::string sock = "/tmp/wman-async-" + std::to_string(::getpid()) + ".sock";
  auto [scheme, listen] = GENERATE_COPY(table<std::string, std::string>({
      {"text", "text://127.0.0.1:0"},
      {"frame", "frame://127.0.0.1:0"},
      {"tcp", "tcp://127.0.0.1:0"},
      {"ws", "ws://127.0.0.1:0"},
      {"unix", "unix://" + sock},
      {"unix-frame", "unix://" + sock},
  }));
  INFO("scheme " << scheme);
  auto server = echoServer(listen);
  // A unix socket may speak any protocol when both ends say so.
  AsyncConnectionOptions options;
  if (scheme == "unix-frame") {
    server->setProtocol("frame");
    options.protocol = "frame";
  }
  Worker idle("text://127.0.0.1:0");  // keeps the loop running for the client side
  TestServer loop({server.get(), &idle});
  const std::string url = scheme.starts_with("unix")
                              ? "unix://" + sock
                              : scheme + "://127.0.0.1:" + std::to_string(server->port()) +
                                    (scheme == "ws" ? "/chat?room=1" : "");
  Seen seen;
  std::unique_ptr<AsyncConnection> c;
  loop.onLoop([&] {
    c = std::make_unique<AsyncConnection>(url, options);
    seen.wire(*c);
    CHECK(c->state() == ConnectionState::Closed);
    // Queued before the link exists; goes out first, in order.
    CHECK(c->send("one") == SendStatus::Buffered);
    c->connect();
    CHECK(c->state() == ConnectionState::Connecting);
    CHECK(c->send("two") == SendStatus::Buffered);
  });
  REQUIRE(seen.connects.waitFor(1));
  if (scheme == "tcp" || scheme == "unix") {
    // Raw bytes (unix:// is tcp over a unix socket) have no message boundaries: "one" and "two" may
    // come back as one read.
    loop.onLoop([&] { CHECK(c->state() == ConnectionState::Established); });
    REQUIRE(seen.received.waitFor(1));
  } else {
    REQUIRE(seen.received.waitFor(2));
    CHECK(seen.takeMessages() == std::vector<std::string>{"one", "two"});
    loop.onLoop([&] {
      CHECK(c->state() == ConnectionState::Established);
      CHECK(c->send("three") == SendStatus::Ok);
      CHECK(c->bytesWritten() > 0);
      CHECK((scheme == "unix-frame" || c->remotePort() == server->port()));
    });
    REQUIRE(seen.received.waitFor(3));
  }
  loop.onLoop([&] { c->close(); });
  REQUIRE(seen.closes.waitFor(1));
  loop.onLoop([&] {
    CHECK(c->state() == ConnectionState::Closed);
    CHECK(c->send("late") == SendStatus::Dropped);
    c.reset();
  });
  CHECK(seen.connects.count() == 1);
  CHECK(seen.failures.count() == 0);
  ::unlink(sock.c_str());
}

TEST_CASE("AsyncConnection negotiates and uses permessage-deflate as a WebSocket client") {
  auto server = echoServer("ws://127.0.0.1:0");
  server->websocket.permessage_deflate = true;
  Worker idle("text://127.0.0.1:0");
  TestServer loop({server.get(), &idle});
  AsyncConnectionOptions options;
  options.permessage_deflate = true;
  Seen seen;
  std::unique_ptr<AsyncConnection> c;
  const std::string big(64 * 1024, 'a');
  loop.onLoop([&] {
    c = std::make_unique<AsyncConnection>("ws://127.0.0.1:" + std::to_string(server->port()) + "/",
                                          options);
    seen.wire(*c);
    c->connect();
    c->send(big);
  });
  REQUIRE(seen.received.waitFor(1));
  CHECK(seen.takeMessages().front() == big);
  loop.onLoop([&] {
    // The 64 KiB message went out compressed: far fewer bytes than its size.
    CHECK(c->bytesWritten() < 4096);
    CHECK(c->bytesRead() < 4096);
    c.reset();
  });
}

TEST_CASE("AsyncConnection reports a failed connect with its reason") {
  Worker idle("text://127.0.0.1:0");
  TestServer loop({&idle});
  Seen seen;
  std::unique_ptr<AsyncConnection> c;
  SECTION("connection refused") {
    const std::string address = "127.0.0.1:" + std::to_string(closedPort());
    loop.onLoop([&] {
      c = std::make_unique<AsyncConnection>("text://" + address);
      seen.wire(*c);
      c->connect();
    });
    REQUIRE(seen.failures.waitFor(1));
    // The refusal arrives asynchronously, from the link; it still names the address tried.
    CHECK(seen.lastError() == "connect to " + address + " failed: connection refused");
  }
  SECTION("a unix socket that does not exist") {
    const std::string path = "/tmp/wman-test-missing-" + std::to_string(::getpid()) + ".sock";
    bool failed_inside_connect = false;
    loop.onLoop([&] {
      c = std::make_unique<AsyncConnection>("unix://" + path);
      seen.wire(*c);
      c->connect();
      // The socket call fails at once; the application still hears of it from the loop,
      // never from inside its own connect().
      failed_inside_connect = seen.failures.count() != 0;
    });
    REQUIRE(seen.failures.waitFor(1));
    CHECK_FALSE(failed_inside_connect);
    CHECK(seen.lastError() == "connect to " + path + " failed: no such file or directory");
  }
  SECTION("a host that does not resolve") {
    loop.onLoop([&] {
      c = std::make_unique<AsyncConnection>("ws://no-such-host.invalid:80/");
      seen.wire(*c);
      c->connect();
    });
    REQUIRE(seen.failures.waitFor(1, std::chrono::seconds(20)));
    CHECK_THAT(seen.lastError(), Catch::Contains("no-such-host.invalid"));
  }
  loop.onLoop([&] {
    CHECK(c->state() == ConnectionState::Closed);
    CHECK_FALSE(c->reconnectPending());
    c.reset();
  });
  CHECK(seen.connects.count() == 0);
  CHECK(seen.closes.count() == 0);
}

TEST_CASE("AsyncConnection reports why TLS verification failed, whatever the protocol") {
  // wss:// lingers after its alert until the server hangs up; that hang-up must not replace
  // the verification failure as the reason.
  auto [url_scheme, listen_scheme] = GENERATE(table<std::string, std::string>({
      {"wss", "wss"},
      {"text", "text"},
  }));
  INFO("scheme " << url_scheme);
  auto server = echoServer(listen_scheme + "://127.0.0.1:0");
  server->tls = serverConfig();
  Worker idle("text://127.0.0.1:0");
  TestServer loop({server.get(), &idle});
  const std::string url = url_scheme + "://127.0.0.1:" + std::to_string(server->port());
  auto [server_name, reason] = GENERATE(table<std::string, std::string>({
      {"", "(unable to get local issuer certificate)"},
      {"other.example", "(hostname mismatch)"},
  }));
  AsyncConnectionOptions options;
  options.transport = "tls";
  options.tls.server_name = server_name;
  if (!server_name.empty()) options.tls.ca = TestCerts::get().path("ca.pem");
  Seen seen;
  std::unique_ptr<AsyncConnection> c;
  loop.onLoop([&] {
    c = std::make_unique<AsyncConnection>(url, options);
    seen.wire(*c);
    c->connect();
  });
  REQUIRE(seen.failures.waitFor(1));
  CHECK(seen.lastError() == "TLS handshake failed: certificate verify failed " + reason);
  loop.onLoop([&] { c.reset(); });
  CHECK(seen.connects.count() == 0);
}

TEST_CASE("AsyncConnection refuses unusable URLs with a clear error") {
  CHECK_THROWS_WITH(AsyncConnection("foo://127.0.0.1:80"), Catch::Contains("'foo'"));
  CHECK_THROWS_WITH(AsyncConnection("text://127.0.0.1"), Catch::Contains("127.0.0.1"));
  CHECK_THROWS_AS(AsyncConnection("ws://"), std::invalid_argument);
  AsyncConnectionOptions bad;
  bad.reconnect_min = 5;
  bad.reconnect_max = 1;
  CHECK_THROWS_WITH(AsyncConnection("text://127.0.0.1:9", bad), Catch::Contains("reconnect"));
  CHECK_THROWS_AS(AsyncConnection("text://127.0.0.1:9").connect(), std::logic_error);
}

TEST_CASE("A connect that gets no answer times out on time without delaying others") {
  // A listener whose accept queue is full drops further SYNs: connects to it hang.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(lfd, 0) == 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(fd);
  }
  auto server = echoServer("text://127.0.0.1:0");
  Worker idle("text://127.0.0.1:0");
  TestServer loop({server.get(), &idle});
  AsyncConnectionOptions options;
  options.connect_timeout = 0.5;
  Seen hung, other;
  std::unique_ptr<AsyncConnection> c, d;
  std::atomic<bool> other_done_first{false};
  Clock::time_point started, failed;
  loop.onLoop([&] {
    c = std::make_unique<AsyncConnection>("text://127.0.0.1:" + std::to_string(ntohs(a.sin_port)),
                                          options);
    hung.wire(*c);
    c->onError = [&](Connection&, int, std::string_view why) {
      failed = Clock::now();
      {
        std::lock_guard<std::mutex> lock(hung.m);
        hung.errors.emplace_back(why);
      }
      hung.failures.add();
    };
    d = std::make_unique<AsyncConnection>("text://127.0.0.1:" + std::to_string(server->port()));
    other.wire(*d);
    d->onMessage = [&](Connection&, Message) {
      other_done_first = hung.failures.count() == 0;
      other.received.add();
    };
    started = Clock::now();
    c->connect();
    d->connect();
    d->send("ping");
  });
  REQUIRE(hung.failures.waitFor(1));
  REQUIRE(other.received.waitFor(1));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(failed - started).count();
  CHECK(ms >= 400);
  CHECK(ms <= 600);
  CHECK(hung.lastError() == "connect timeout: not connected within 0.5 s");
  CHECK(other_done_first.load());
  loop.onLoop([&] {
    c.reset();
    d.reset();
  });
  for (int fd : fillers) ::close(fd);
  ::close(lfd);
}

TEST_CASE("Reconnecting 50 times keeps delays in bounds and leaks no fd or timer") {
  // The upstream is started and stopped by the test on the loop, not by the TestServer.
  Worker idle("text://127.0.0.1:0");
  TestServer loop({&idle});
  std::unique_ptr<Worker> server = echoServer("text://127.0.0.1:0");
  loop.onLoop([&] { REQUIRE_FALSE(server->runtime().start(*detail::EventLoop::current())); });
  const std::string url = "text://127.0.0.1:" + std::to_string(server->port());
  AsyncConnectionOptions options;
  options.auto_reconnect = true;
  options.reconnect_min = 0.01;
  options.reconnect_max = 0.08;
  Seen seen;
  std::unique_ptr<AsyncConnection> c;
  std::vector<double> delays;
  auto note_delay = [&] {
    if (c->reconnectPending()) delays.push_back(c->lastReconnectDelay());
  };
  loop.onLoop([&] {
    c = std::make_unique<AsyncConnection>(url, options);
    seen.wire(*c);
    c->onClose = [&](Connection&) {
      note_delay();
      seen.closes.add();
    };
    c->onError = [&](Connection&, int, std::string_view) {
      note_delay();
      seen.failures.add();
    };
    c->connect();
  });
  REQUIRE(seen.connects.waitFor(1));
  // Baseline: one server listener with one connection, one connected client.
  std::size_t fds0 = 0, timers0 = 0;
  detail::EventLoop* raw = nullptr;
  loop.onLoop([&] {
    raw = detail::EventLoop::current();
    fds0 = openFds();
    timers0 = timerHandles(*raw);
  });
  for (int i = 1; i <= 50; ++i) {
    // The upstream goes away: the client hears onClose and retries until it is back.
    EventCounter stopped;
    loop.onLoop([&] { server->runtime().stop(false, [&] { stopped.add(); }); });
    REQUIRE(stopped.waitFor(1));
    REQUIRE(seen.closes.waitFor(i));
    if (i % 2 == 0) REQUIRE(seen.failures.waitFor(seen.failures.count() + 1));
    loop.onLoop([&] {
      server = echoServer(url);
      REQUIRE_FALSE(server->runtime().start(*raw));
    });
    REQUIRE(seen.connects.waitFor(i + 1));
  }
  std::size_t fds1 = 0, timers1 = 0;
  loop.onLoop([&] {
    fds1 = openFds();
    timers1 = timerHandles(*raw);
  });
  CHECK(fds1 == fds0);
  CHECK(timers1 == timers0);
  REQUIRE(delays.size() >= 50);
  for (double d : delays) {
    CHECK(d >= options.reconnect_min);
    CHECK(d <= options.reconnect_max);
  }
  EventCounter stopped;
  loop.onLoop([&] {
    c.reset();
    server->runtime().stop(false, [&] { stopped.add(); });
  });
  REQUIRE(stopped.waitFor(1));
  loop.onLoop([&] { server.reset(); });
}

TEST_CASE("reconnect() closes, waits, connects again; cancelReconnect() stops it") {
  auto server = echoServer("text://127.0.0.1:0");
  Worker idle("text://127.0.0.1:0");
  TestServer loop({server.get(), &idle});
  Seen seen;
  std::unique_ptr<AsyncConnection> c;
  loop.onLoop([&] {
    c = std::make_unique<AsyncConnection>("text://127.0.0.1:" + std::to_string(server->port()));
    seen.wire(*c);
    c->connect();
  });
  REQUIRE(seen.connects.waitFor(1));
  loop.onLoop([&] { c->reconnect(0.05); });
  REQUIRE(seen.closes.waitFor(1));
  REQUIRE(seen.connects.waitFor(2));
  loop.onLoop([&] {
    CHECK(c->lastReconnectDelay() == Approx(0.05));
    CHECK(c->state() == ConnectionState::Established);
    c->destroy();
  });
  REQUIRE(seen.closes.waitFor(2));
  loop.onLoop([&] {
    c->reconnect(30);
    CHECK(c->reconnectPending());
    c->cancelReconnect();
    CHECK_FALSE(c->reconnectPending());
    CHECK(c->state() == ConnectionState::Closed);
    c.reset();
  });
  CHECK(seen.connects.count() == 2);
}

TEST_CASE("AsyncConnection over TLS connects to a verified server, or to any with verify off") {
  auto server = echoServer("wss://127.0.0.1:0");
  server->tls = serverConfig();
  auto plain = echoServer("text://127.0.0.1:0");
  plain->tls = serverConfig();
  Worker idle("text://127.0.0.1:0");
  TestServer loop({server.get(), plain.get(), &idle});
  const std::string wss = "wss://localhost:" + std::to_string(server->port()) + "/";
  auto run = [&](const std::string& url, AsyncConnectionOptions o) {
    Seen seen;
    std::unique_ptr<AsyncConnection> c;
    loop.onLoop([&] {
      c = std::make_unique<AsyncConnection>(url, o);
      seen.wire(*c);
      c->send("over tls");
      c->connect();
    });
    REQUIRE((seen.received.waitFor(1) || seen.failures.waitFor(1)));
    loop.onLoop([&] { c.reset(); });
    return seen.failures.count() ? "error: " + seen.lastError() : seen.takeMessages().front();
  };
  AsyncConnectionOptions trusted;
  trusted.tls.ca = TestCerts::get().path("ca.pem");
  SECTION("a chain from the given CA, for the right name") {
    CHECK(run(wss, trusted) == "over tls");
    // Any protocol over TLS: text with transport = "tls", checked against the IP in the cert.
    AsyncConnectionOptions text = trusted;
    text.transport = "tls";
    CHECK(run("text://127.0.0.1:" + std::to_string(plain->port()), text) == "over tls");
  }
  SECTION("verification off accepts anything") {
    AsyncConnectionOptions off;
    off.tls.verify = false;
    CHECK(run(wss, off) == "over tls");
  }
}

TEST_CASE("An AsyncConnection made in onWorkerStart works like any other") {
  auto upstream = echoServer("text://127.0.0.1:0");
  Worker app("text://127.0.0.1:0");
  std::unique_ptr<AsyncConnection> link;
  EventCounter echoed;
  std::string got;
  app.onWorkerStart = [&](Worker&) {
    link =
        std::make_unique<AsyncConnection>("text://127.0.0.1:" + std::to_string(upstream->port()));
    link->onMessage = [&](Connection& c, Message m) {
      got = m.str();
      CHECK(&c == link.get());  // the callbacks get the AsyncConnection itself
      echoed.add();
    };
    link->send("from onWorkerStart");
    link->connect();
  };
  TestServer loop({upstream.get(), &app});
  REQUIRE(echoed.waitFor(1));
  CHECK(got == "from onWorkerStart");
  loop.onLoop([&] { link.reset(); });
}

TEST_CASE("Sends before the link opens are bounded by maxSendBuffer") {
  auto server = echoServer("text://127.0.0.1:0");
  TestServer loop({server.get()});
  Seen seen;
  std::unique_ptr<AsyncConnection> c;
  int send_fails = 0;
  loop.onLoop([&] {
    c = std::make_unique<AsyncConnection>("text://127.0.0.1:" + std::to_string(server->port()));
    seen.wire(*c);
    c->onError = [&](Connection&, int code, std::string_view) {
      if (code == error_code::kSendFail) ++send_fails;
    };
    c->maxSendBuffer = 10;
    CHECK(c->send("12345") == SendStatus::Buffered);
    CHECK(c->send("67890") == SendStatus::Buffered);
    CHECK(c->bufferedAmount() == 10);
    CHECK(c->send("x") == SendStatus::Dropped);
    CHECK(send_fails == 1);
    c->connect();
  });
  REQUIRE(seen.received.waitFor(2));
  CHECK(seen.takeMessages() == std::vector<std::string>{"12345", "67890"});
  loop.onLoop([&] { c.reset(); });
}
