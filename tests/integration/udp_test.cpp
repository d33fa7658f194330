// udp:// workers in-process on 127.0.0.1:0 (and [::1]:0): echo through the codecs, replies to
// the sender, sendTo(), the datagram connection's contract, and every loss counted.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "event_counter.h"
#include "test_server.h"
#include "udp_test_client.h"
#include "wman/serve.h"

using namespace wman;
using namespace wman::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Worker> echoWorker(const std::string& url) {
  auto w = std::make_unique<Worker>(url);
  REQUIRE(installBuiltinApp("echo", *w));
  return w;
}

WorkerStats statsOf(TestServer& server, Worker& w) {
  return server.onLoop([&w] { return w.stats(); });
}

std::string frameOf(const std::string& body) {
  const auto n = static_cast<std::uint32_t>(body.size() + 4);
  std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                  static_cast<char>(n)};
  return out + body;
}

bool hasIpv6Loopback() {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("udp echoes each datagram to its sender, raw bytes by default", "[udp]") {
  auto w = echoWorker("udp://127.0.0.1:0");
  std::string seen_address, seen_ip, local;
  std::uint16_t seen_port = 0;
  w->onMessage = [&](Connection& c, Message m) {
    seen_address = c.remoteAddress();
    seen_ip = c.remoteIp();
    seen_port = c.remotePort();
    local = c.localAddress();
    c.send(m);
  };
  TestServer server({w.get()});
  REQUIRE(w->port() != 0);
  CHECK(w->protocol() == "tcp");
  UdpClient a(w->port());
  UdpClient b(w->port());
  a.send("from a");
  b.send(std::string("\0binary\xff", 8));
  CHECK(a.recv() == "from a");
  CHECK(b.recv() == std::string("\0binary\xff", 8));
  a.send("again");
  CHECK(a.recv() == "again");
  CHECK(seen_address == a.address());
  CHECK(seen_ip == "127.0.0.1");
  CHECK(std::to_string(seen_port) == a.address().substr(a.address().rfind(':') + 1));
  CHECK(local == "127.0.0.1:" + std::to_string(w->port()));
  const WorkerStats st = statsOf(server, *w);
  CHECK(st.udp_in == 3);
  CHECK(st.udp_out == 3);
  CHECK(st.udp_dropped == 0);
  CHECK(st.messages == 3);
  CHECK(st.accepted == 0);
  CHECK(w->connections().empty());
}

TEST_CASE("udp has no onConnect/onClose, no bus address, and close(data) just sends", "[udp]") {
  auto w = std::make_unique<Worker>("udp://127.0.0.1:0");
  std::atomic<int> lifecycle{0};
  w->onConnect = [&](Connection&) { ++lifecycle; };
  w->onClose = [&](Connection&) { ++lifecycle; };
  std::string client_id = "unset";
  w->onMessage = [&](Connection& c, Message m) {
    client_id = c.clientId();
    c.joinGroup("g");
    c.pauseRecv();
    c.close("bye " + m.str());
  };
  TestServer server({w.get()});
  UdpClient a(w->port());
  a.send("x");
  CHECK(a.recv() == "bye x");
  a.send("y");  // pauseRecv() was a no-op: the socket still receives
  CHECK(a.recv() == "bye y");
  CHECK(lifecycle == 0);
  CHECK(client_id.empty());
}

TEST_CASE("the datagram connection is valid only during the callback", "[udp]") {
  auto w = std::make_unique<Worker>("udp://127.0.0.1:0");
  Connection* kept = nullptr;
  EventCounter delivered;
  w->onMessage = [&](Connection& c, Message) {
    kept = &c;
    delivered.add();
  };
  TestServer server({w.get()});
  UdpClient a(w->port());
  a.send("keep me");
  REQUIRE(delivered.waitFor(1));
  const auto [status, address] =
      server.onLoop([&] { return std::make_pair(kept->send("late"), kept->remoteAddress()); });
  CHECK(status == SendStatus::NotConnected);
  CHECK(address.empty());
  CHECK_FALSE(a.recv(100ms).has_value());
}

TEST_CASE("sendTo sends unprompted datagrams, encoded by the worker's codec", "[udp]") {
  auto w = std::make_unique<Worker>("udp://127.0.0.1:0");
  w->setProtocol("text");
  TestServer server({w.get()});
  UdpClient a(w->port());
  const std::string to = a.address();
  CHECK(server.onLoop([&] { return w->sendTo(to, "hello"); }) == SendStatus::Ok);
  CHECK(a.recv() == "hello\n");
  const auto parsed = SocketAddress::parse(to);
  REQUIRE(parsed);
  // Several in one loop iteration leave together, in order.
  CHECK(server.onLoop([&] {
    return w->sendTo(*parsed, "one") == SendStatus::Ok &&
           w->sendTo(*parsed, "two") == SendStatus::Ok;
  }));
  CHECK(a.recv() == "one\n");
  CHECK(a.recv() == "two\n");
  CHECK(server.onLoop([&] { return w->sendTo("not an address", "x"); }) == SendStatus::Dropped);
  CHECK(server.onLoop([&] { return w->sendTo("localhost:1", "x"); }) == SendStatus::Dropped);
  CHECK(server.onLoop([&] { return w->sendTo(to, std::string(70000, 'x')); }) ==
        SendStatus::Dropped);
  const WorkerStats st = statsOf(server, *w);
  CHECK(st.udp_out == 3);
  CHECK(st.udp_dropped == 1);  // the oversize one; a bad address is the caller's mistake

  auto tcp = std::make_unique<Worker>("text://127.0.0.1:0");
  CHECK(tcp->sendTo(to, "x") == SendStatus::NotConnected);
}

TEST_CASE("text codec: one message per line, an unterminated line is a counted loss", "[udp]") {
  auto w = echoWorker("udp://127.0.0.1:0");
  w->setProtocol("text");
  TestServer server({w.get()});
  UdpClient a(w->port());
  a.send("a\nb\r\n");
  CHECK(a.recv() == "a\n");
  CHECK(a.recv() == "b\n");
  a.send("no newline");
  a.send("c\nunfinished");  // c is delivered, the rest is lost
  a.send("d\n");            // the codec starts afresh: no leftover of the lost datagram
  CHECK(a.recv() == "c\n");
  CHECK(a.recv() == "d\n");
  const WorkerStats st = statsOf(server, *w);
  CHECK(st.udp_in == 4);
  CHECK(st.messages == 4);
  CHECK(st.udp_out == 4);
  CHECK(st.udp_dropped == 2);
  CHECK(st.protocol_errors == 0);
}

TEST_CASE("frame codec over udp, bad frames counted, oversize datagrams dropped", "[udp]") {
  auto w = echoWorker("udp://127.0.0.1:0");
  w->setProtocol("frame");
  w->limits.max_package_size = 100;
  TestServer server({w.get()});
  UdpClient a(w->port());
  a.send(frameOf("x") + frameOf(""));
  CHECK(a.recv() == frameOf("x"));
  CHECK(a.recv() == frameOf(""));
  a.send(std::string("\0\0\0\x02", 4));  // a length below the header's own 4 bytes
  a.send(frameOf("cut").substr(0, 5));   // ends inside its frame
  a.send(frameOf(std::string(200, 'z')));
  a.send("");  // carries no message
  a.send(frameOf("after"));
  CHECK(a.recv() == frameOf("after"));
  const WorkerStats st = statsOf(server, *w);
  CHECK(st.udp_in == 6);
  CHECK(st.udp_dropped == 4);
  CHECK(st.udp_out == 3);
}

TEST_CASE("an exception in onMessage is counted and the next datagram is served", "[udp]") {
  auto w = std::make_unique<Worker>("udp://127.0.0.1:0");
  w->onMessage = [](Connection& c, Message m) {
    if (m.view() == "boom") throw std::runtime_error("boom");
    c.send(m);
  };
  TestServer server({w.get()});
  UdpClient a(w->port());
  a.send("boom");
  a.send("fine");
  CHECK(a.recv() == "fine");
  CHECK(statsOf(server, *w).callback_errors == 1);
}

TEST_CASE("udp over IPv6, and sendTo an IPv4 peer from a dual-stack socket", "[udp]") {
  if (!hasIpv6Loopback()) {
    WARN("no IPv6 loopback here; skipped");
    return;
  }
  auto w = echoWorker("udp://[::1]:0");
  TestServer server({w.get()});
  UdpClient a(w->port(), AF_INET6);
  a.send("six");
  CHECK(a.recv() == "six");

  auto dual = echoWorker("udp://[::]:0");
  TestServer dual_server({dual.get()});
  UdpClient b(dual->port());
  const std::string to = b.address();
  CHECK(dual_server.onLoop([&] { return dual->sendTo(to, "mapped"); }) == SendStatus::Ok);
  CHECK(b.recv() == "mapped");
}

TEST_CASE("a burst is received in batches, and what the kernel dropped is counted", "[udp]") {
  auto w = echoWorker("udp://127.0.0.1:0");
  EventCounter got;
  w->onMessage = [&got](Connection&, Message) { got.add(); };
  TestServer server({w.get()});
  UdpClient a(w->port());
  constexpr int kSent = 3000;
  const std::uint64_t softnet_before = softnetDrops();
  // With the loop held, the whole burst waits in the socket's receive queue, which holds far
  // fewer than kSent small datagrams: the kernel drops the rest and counts them.
  server.whileLoopHeld([&] {
    for (int i = 0; i < kSent; ++i) a.send("datagram " + std::to_string(i));
  });
  // The queue drains; then the counters must account for every datagram sent.
  WorkerStats st;
  for (int i = 0; i < 500; ++i) {
    st = statsOf(server, *w);
    if (st.udp_in + st.udp_dropped >= kSent) break;
    got.waitFor(static_cast<int>(st.udp_in) + 1, 10ms);
  }
  const std::uint64_t lost_elsewhere = softnetDrops() - softnet_before;
  INFO("in " << st.udp_in << ", dropped " << st.udp_dropped << ", softnet " << lost_elsewhere);
  CHECK(st.udp_in > 0);
  CHECK(st.udp_dropped > 0);
  CHECK(st.udp_in + st.udp_dropped <= kSent);
  CHECK(st.udp_in + st.udp_dropped + lost_elsewhere >= kSent);
  CHECK(got.count() == static_cast<int>(st.udp_in));
}
