// A worker process's link to the machine's bus process: the BusBackend that carries this
// process's bus traffic (wman/bus.h) to the other workers, and hands what arrives to it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "wman/async_connection.h"
#include "wman/bus_backend.h"

namespace wman::daemon {

class BusLink : public BusBackend {
 public:
  // `socket` is the bus process's listening unix socket; `max_queue` bounds the bytes
  // waiting for it (beyond: dropped and counted).
  BusLink(std::string socket, std::size_t max_queue);
  ~BusLink() override;

  // Installs itself as this process's backend and connects (again and again, should the
  // bus process restart: each new link re-announces every interest).
  void start();
  void stop();

  void forward(const BusEnvelope& e) override;
  void interest(BusTarget target, std::string_view name, bool on) override;
  void ask(std::uint64_t id, BusQuestion q, std::string_view name,
           std::uint64_t timeout_ms) override;

  std::uint64_t dropped() const { return dropped_; }

 private:
  bool up() const;
  void hello();
  void received(std::string_view frame);
  void sendFrame(const std::string& frame);

  std::string socket_;
  std::size_t max_queue_;
  std::unique_ptr<AsyncConnection> conn_;
  std::uint64_t dropped_ = 0;
};

}  // namespace wman::daemon
