#include "wman/worker.h"

#include <algorithm>
#include <stdexcept>

#include "detail/connection_impl.h"
#include "detail/udp_endpoint.h"
#include "detail/worker_registry.h"
#include "detail/worker_runtime.h"
#include "wman/protocol_registry.h"

namespace wman {

Worker::Worker(std::string url) : url_(std::move(url)) {
  std::string error;
  auto parsed = parseListenUrl(url_, &error);
  if (!parsed) throw std::invalid_argument("wman::Worker: " + url_ + ": " + error);
  listen_ = std::move(*parsed);
  runtime_ = std::make_unique<detail::WorkerRuntime>(*this);
  detail::registeredWorkers().push_back(this);
}

Worker::Worker() {
  listen_.scheme = listen_.protocol = std::string(ProtocolRegistry::kRawBytes);
  runtime_ = std::make_unique<detail::WorkerRuntime>(*this);
  detail::registeredWorkers().push_back(this);
}

void Worker::setProtocol(std::string name) {
  if (!ProtocolRegistry::contains(name)) {
    throw std::invalid_argument("wman::Worker: unknown protocol '" + name + "'");
  }
  listen_.protocol = std::move(name);
}

Worker::~Worker() {
  auto& all = detail::registeredWorkers();
  all.erase(std::remove(all.begin(), all.end(), this), all.end());
}

const ConnectionMap& Worker::connections() const {
  return runtime_->connections();
}

Connection* Worker::connection(ConnectionId id) const {
  return runtime_->find(id);
}

SendStatus Worker::send(ConnectionId id, std::string_view data) {
  Connection* c = runtime_->find(id);
  return c ? c->send(data) : SendStatus::NotConnected;
}

SendStatus Worker::sendTo(std::string_view address, std::string_view data) {
  if (auto to = SocketAddress::parse(address)) return sendTo(*to, data);
  return runtime_->udp() ? SendStatus::Dropped : SendStatus::NotConnected;
}

SendStatus Worker::sendTo(const SocketAddress& address, std::string_view data) {
  auto* udp = runtime_->udp();
  return udp ? udp->sendTo(address, data) : SendStatus::NotConnected;
}

std::uint16_t Worker::port() const {
  return runtime_->port();
}

const WorkerStats& Worker::stats() const {
  // The kernel's count of datagrams it dropped is read here, where the counters are read.
  if (auto* udp = runtime_->udp()) udp->sampleKernelDrops();
  return runtime_->stats();
}

const std::vector<Worker*>& Worker::all() {
  return detail::registeredWorkers();
}

namespace detail {
std::vector<Worker*>& registeredWorkers() {
  static std::vector<Worker*> workers;
  return workers;
}
}  // namespace detail

}  // namespace wman
