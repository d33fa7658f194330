// Serves the outbound links (AsyncConnection) of one event loop. The links are connections
// of a hidden worker runtime, so they get what accepted connections get: the flush pass,
// fair reads, the close-flush deadline, the unfinished-message clock, counters and the
// rate-limited peer log. The hidden worker is in no Worker::all() list and has no listener.
// Created by the EventLoop on first use; its shutdown() drops every link before the loop
// closes its remaining handles.
#pragma once

#include <memory>
#include <unordered_set>

#include "wman/connection.h"

namespace wman {
class Worker;
}

namespace wman::detail {

class EventLoop;
class Outbound;
class WorkerRuntime;

class OutboundHost {
 public:
  explicit OutboundHost(EventLoop& loop);
  ~OutboundHost();
  OutboundHost(const OutboundHost&) = delete;
  OutboundHost& operator=(const OutboundHost&) = delete;

  EventLoop& loop() { return loop_; }
  WorkerRuntime& runtime();
  Worker& worker() { return *worker_; }
  // Ids for links and AsyncConnections, from the hidden worker's id space.
  ConnectionId nextId();

  void add(Outbound& o) { members_.insert(&o); }
  void remove(Outbound& o) { members_.erase(&o); }

  // Detaches every AsyncConnection (their links are dropped without callbacks) and stops
  // the hidden runtime.
  void shutdown();

 private:
  EventLoop& loop_;
  std::unique_ptr<Worker> worker_;
  std::unordered_set<Outbound*> members_;
  bool shut_down_ = false;
};

}  // namespace wman::detail
