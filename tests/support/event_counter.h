// Counts events raised on a server's loop thread and lets the test thread wait for them
// with a deadline, instead of sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace wman::test {

class EventCounter {
 public:
  void add(int n = 1) {
    {
      std::lock_guard<std::mutex> lock(m_);
      count_ += n;
    }
    cv_.notify_all();
  }
  int count() const {
    std::lock_guard<std::mutex> lock(m_);
    return count_;
  }
  // True once count() >= n, false if the deadline passes first.
  bool waitFor(int n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  int count_ = 0;
};

}  // namespace wman::test
