// The loop drives libuv: one epoll_wait covers the connections' sockets and libuv's backend
// fd, and libuv iterates only when it has something to do (EventLoop::run). These cases are
// the work that starts inside a connection's callback, outside libuv's iteration, and must
// not wait for an unrelated event to go on: a datagram batched for the end of the pass, a
// watcher libuv has not yet given to its epoll set, a timer whose due time needs the clock
// read after the wait.
//
// Each worker also has a housekeeping timer (at most a second apart) that makes libuv
// iterate. So a case does not wait for the late event, which that tick would bring anyway;
// it asks, over the same connection and so without making libuv iterate, whether the work
// is already done, and that answer is deterministic.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "test_client.h"
#include "test_server.h"
#include "udp_test_client.h"
#include "wman/serve.h"
#include "wman/timer.h"

using namespace wman;
using namespace wman::test;

TEST_CASE("a datagram sent from a stream connection's handler leaves before the loop waits") {
  Worker udp("udp://127.0.0.1:0");
  Worker text("text://127.0.0.1:0");
  UdpClient peer(0);  // receives only; the port it would send to is not used
  const std::string to = peer.address();
  text.onMessage = [&](Connection& c, Message m) {
    if (m.view() == "send") {
      c.send(udp.sendTo(to, "datagram") == SendStatus::Ok ? "queued" : "refused");
    } else {
      // Answered from the socket's own events: nothing here makes libuv iterate.
      c.send("sent " + std::to_string(udp.stats().udp_out));
    }
  };
  TestServer server({&udp, &text});
  TestClient c(text.port());
  c.send("send\n");
  CHECK(c.recvLine() == "queued\n");
  c.send("count\n");
  CHECK(c.recvLine() == "sent 1\n");
  CHECK(peer.recv() == "datagram");
}

TEST_CASE("a libuv watcher started in a connection's handler is polled in the same turn") {
  Worker w("text://127.0.0.1:0");
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) == 0);
  struct Armed {
    uv_poll_t poll{};
    Connection* by = nullptr;
    int fd = -1;
  } armed;
  armed.fd = pipe_fds[0];
  armed.poll.data = &armed;
  w.onMessage = [&](Connection& c, Message m) {
    if (m.view() != "arm") {
      c.send(m.view());
      return;
    }
    armed.by = &c;
    uv_poll_init(w.runtime().loop().raw(), &armed.poll, armed.fd);
    uv_poll_start(&armed.poll, UV_READABLE, [](uv_poll_t* h, int, int) {
      auto* a = static_cast<Armed*>(h->data);
      char byte;
      while (::read(a->fd, &byte, 1) == 1) {
      }
      uv_poll_stop(h);
      a->by->send("readable");
    });
    // Readable already: only libuv's epoll set does not know the fd yet.
    REQUIRE(::write(pipe_fds[1], "x", 1) == 1);
    c.send("armed");
  };
  TestServer server({&w});
  TestClient c(w.port());
  // A first line, so that "arm" comes as a socket event of its own and not with the accept,
  // which libuv's listener callback handles inside libuv's iteration.
  c.send("hello\n");
  CHECK(c.recvLine() == "hello\n");
  c.send("arm\n");
  CHECK(c.recvLine() == "armed\n");
  c.send("after\n");
  // The watcher's callback ran before the loop waited again, so its line is first.
  CHECK(c.recvLine() == "readable\n");
  CHECK(c.recvLine() == "after\n");
  server.onLoop([&] { uv_close(reinterpret_cast<uv_handle_t*>(&armed.poll), nullptr); });
  server.stop();
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST_CASE("a timer added in a connection's handler fires although only sockets were polled") {
  Worker w("text://127.0.0.1:0");
  w.onMessage = [&](Connection& c, Message m) {
    const ConnectionId id = c.id();
    Timer::delay(0.05, [&w, id, text = m.str()] {
      if (Connection* again = w.connection(id)) again->send("timer " + text);
    });
  };
  TestServer server({&w});
  TestClient c(w.port());
  // Each wait of the loop is bounded by the next timer; the clock must be read after it,
  // or the timer would seem as far away as before and be put off again and again.
  for (const char* text : {"one", "two", "three"}) {
    c.send(std::string(text) + "\n");
    CHECK(c.recvLine() == "timer " + std::string(text) + "\n");
  }
}
