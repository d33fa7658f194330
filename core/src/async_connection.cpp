#include "wman/async_connection.h"

#include "detail/outbound.h"

namespace wman {

AsyncConnection::AsyncConnection(std::string url, AsyncConnectionOptions options)
    : impl_(std::make_unique<detail::Outbound>(*this, std::move(url), std::move(options))) {}

AsyncConnection::~AsyncConnection() = default;

void AsyncConnection::connect() {
  impl_->connect();
}

void AsyncConnection::reconnect(double after_seconds) {
  impl_->reconnect(after_seconds);
}

void AsyncConnection::cancelReconnect() {
  impl_->cancelReconnect();
}

bool AsyncConnection::reconnectPending() const {
  return impl_->reconnectPending();
}

double AsyncConnection::lastReconnectDelay() const {
  return impl_->lastReconnectDelay();
}

const std::string& AsyncConnection::url() const {
  return impl_->url();
}

const AsyncConnectionOptions& AsyncConnection::options() const {
  return impl_->options();
}

std::string AsyncConnection::subprotocol() const {
  return impl_->subprotocol();
}

}  // namespace wman
