// Echo over every built-in protocol with real sockets on 127.0.0.1:0.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/un.h>

#include <atomic>
#include <vector>

#include "event_counter.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"

using namespace wman;
using namespace wman::test;

namespace {
std::unique_ptr<Worker> echoWorker(const std::string& url) {
  auto w = std::make_unique<Worker>(url);
  REQUIRE(installBuiltinApp("echo", *w));
  return w;
}
}  // namespace

TEST_CASE("text protocol echoes lines, CRLF stripped and LF re-added") {
  auto w = echoWorker("text://127.0.0.1:0");
  TestServer server({w.get()});
  REQUIRE(w->port() != 0);
  TestClient c(w->port());
  c.send("hello\n");
  CHECK(c.recvLine() == "hello\n");
  c.send("with crlf\r\n");
  CHECK(c.recvLine() == "with crlf\n");
  // Several lines in one segment, and one line split over several segments.
  c.send("a\nb\nc");
  CHECK(c.recvLine() == "a\n");
  CHECK(c.recvLine() == "b\n");
  c.send("d\n");
  CHECK(c.recvLine() == "cd\n");
}

TEST_CASE("frame protocol echoes frames including empty and large bodies") {
  auto w = echoWorker("frame://127.0.0.1:0");
  TestServer server({w.get()});
  TestClient c(w->port());
  for (std::string body : {std::string("x"), std::string(), std::string(300000, 'z')}) {
    c.send(frameOf(body));
    CHECK(c.recvExactly(body.size() + 4) == frameOf(body));
  }
  // Two frames in one write, the second split in half.
  std::string two = frameOf("first") + frameOf("second");
  c.send(two.substr(0, 15));
  c.send(two.substr(15));
  CHECK(c.recvExactly(two.size()) == two);
}

TEST_CASE("tcp protocol echoes raw bytes") {
  auto w = echoWorker("tcp://127.0.0.1:0");
  TestServer server({w.get()});
  TestClient c(w->port());
  std::string data(100000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  c.send(data);
  CHECK(c.recvExactly(data.size()) == data);
}

TEST_CASE("one worker serves 1,000 concurrent connections") {
  auto w = echoWorker("text://127.0.0.1:0");
  std::atomic<int> peak{0};
  w->onConnect = [&](Connection& c) {
    int n = static_cast<int>(c.worker().connections().size());
    if (n > peak) peak = n;
  };
  TestServer server({w.get()});
  constexpr int kClients = 1000;
  std::vector<TestClient> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) clients.emplace_back(w->port());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kClients; ++i) clients[i].send("m" + std::to_string(i * 10 + round) + "\n");
    for (int i = 0; i < kClients; ++i) {
      REQUIRE(clients[i].recvLine() == "m" + std::to_string(i * 10 + round) + "\n");
    }
  }
  CHECK(peak.load() == kClients);
  CHECK(server.onLoop([&] { return w->connections().size(); }) == kClients);
  CHECK(w->stats().messages == 3u * kClients);
}

TEST_CASE("unix socket listener echoes") {
  std::string path = "/tmp/wman-test-" + std::to_string(::getpid()) + ".sock";
  auto w = echoWorker("unix://" + path);
  TestServer server({w.get()});
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::write(fd, "raw", 3) == 3);
  char buf[8] = {0};
  pollfd p{fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 5000) == 1);
  CHECK(::read(fd, buf, sizeof buf) == 3);
  CHECK(std::string(buf) == "raw");
  // The server's end of a unix socket is the listener's path; the client's is unnamed.
  const auto addresses = server.onLoop([&] {
    auto* c = w->connections().begin()->second;
    return std::make_pair(c->localAddress(), c->remoteAddress());
  });
  CHECK(addresses.first == path);
  CHECK(addresses.second.empty());
  ::close(fd);
  server.stop();
  ::unlink(path.c_str());
}
