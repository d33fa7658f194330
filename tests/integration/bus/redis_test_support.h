// What the RedisLink tests run against: a real redis-server on a free loopback port, started
// and killed by pid, and a wman::Loop on its own thread driven from the test thread.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "wman/loop.h"
#include "wman/timer.h"

extern char** environ;

namespace wman::test {

// A loopback port nothing listens on right now (bound, read back, closed).
inline std::uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// redis-server without persistence on 127.0.0.1:port(). start() returns once it accepts.
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra = {})
      : port_(freePort()), extra_(std::move(extra)) {
    start();
  }
  ~RedisServer() { kill(); }

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // Starts the server (again, on the same port) and waits until it accepts connections.
  // Polling is the only way: a process gives no event when its socket starts listening.
  void start() {
    std::vector<std::string> args{
        "redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
        "--save",       "",       "--appendonly",        "no"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawnp(&pid_, "redis-server", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start redis-server");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!accepts(port_)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited at start");
      }
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("redis timeout");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // kill -9 and reap.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::uint16_t port_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

// A wman::Loop on its own thread; run() executes a function there and waits for it.
class LoopThread {
 public:
  LoopThread() {
    std::promise<void> ready;
    thread_ = std::thread([this, &ready] {
      Loop loop;
      loop_ = &loop;
      // A loop without workers ends when nothing is pending; this timer keeps it alive
      // until shutdown() deletes every timer.
      Timer::add(3600.0, [] {});
      ready.set_value();
      loop.run();
    });
    ready.get_future().wait();
  }
  ~LoopThread() {
    loop_->post([this] { loop_->shutdown(); });
    thread_.join();
  }

  template <typename Fn>
  auto run(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    loop_->post([&task] { task(); });
    return result.get();
  }

 private:
  Loop* loop_ = nullptr;
  std::thread thread_;
};

// State written on the loop thread and awaited on the test thread.
template <typename T>
class Watched {
 public:
  template <typename Fn>
  void update(Fn fn) {
    {
      std::lock_guard<std::mutex> lock(m_);
      fn(value_);
    }
    cv_.notify_all();
  }
  // True once `pred(value)` holds, false if `timeout` passes first.
  template <typename Pred>
  bool waitUntil(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return pred(value_); });
  }
  T get() {
    std::lock_guard<std::mutex> lock(m_);
    return value_;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  T value_{};
};

}  // namespace wman::test
