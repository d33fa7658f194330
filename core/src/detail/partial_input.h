// The connections of one worker that hold an unfinished message, oldest first, so the
// message_timeout deadline costs the periodic sweep only the connections it closes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wman::detail {

class ConnectionImpl;

// An intrusive list ordered by the time each connection's unfinished message started. A
// connection is appended when it starts holding one (the clock only moves forward, so the
// list stays sorted) and removed when the message completes, the application pauses it, or
// it closes. Loop thread only.
class PartialInputList {
 public:
  // Appends `c`, stamped `now`; a connection already listed keeps its place and stamp.
  void add(ConnectionImpl& c, std::uint64_t now);
  // Removes `c` if listed.
  void remove(ConnectionImpl& c);
  bool contains(const ConnectionImpl& c) const;
  // When `c` started holding its unfinished message, or 0 if it holds none.
  static std::uint64_t since(const ConnectionImpl& c);

  // Closes the connections whose unfinished message is `timeout_ms` old or older, at most
  // `max_batch` of them (the rest wait for the next sweep, so one sweep cannot stall the
  // loop). Does nothing when `timeout_ms` is 0. True when the batch was full, so more may
  // have expired.
  bool expire(std::uint64_t now, std::uint64_t timeout_ms, std::size_t max_batch);

  bool empty() const { return head_ == nullptr; }

 private:
  ConnectionImpl* head_ = nullptr;
  ConnectionImpl* tail_ = nullptr;
};

}  // namespace wman::detail
