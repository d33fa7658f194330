// TLS as a connection's transport: ciphertext read from the socket goes through the
// connection's TlsSession and comes out as plaintext for its protocol; what the protocol
// queues is encrypted on the way out. The handshake, alerts and close_notify happen here,
// so the connection itself never asks whether it speaks TLS.
#pragma once

#include <memory>

#include "detail/tls_session.h"
#include "detail/transport.h"

namespace wman::detail {

class TlsTransport final : public Transport {
 public:
  explicit TlsTransport(std::shared_ptr<TlsContext> context) : session_(std::move(context)) {}

  void input(ConnectionImpl& c, const char* data, std::size_t size) override;
  std::string& output(std::string& plain, bool closing, std::string& scratch) override;
  bool established() const override { return session_.handshakeDone(); }
  bool flushesOnClose() const override { return true; }
  bool passesThrough() const override { return false; }
  bool noDelay() const override { return false; }

  const TlsSession& session() const { return session_; }

 private:
  ~TlsTransport() = default;
  void release() override { delete this; }
  // The session ended (a close_notify, or a failure whose alert goes out first): closes
  // `c` after the flush.
  void ended(ConnectionImpl& c);
  // The first bytes of an accepted connection are a plain HTTP request, not a ClientHello:
  // answers 400 in the clear (the connection continues on the plain transport, which
  // destroys this one) and closes. False when they are anything else.
  bool refusePlainHttp(ConnectionImpl& c, const char* data, std::size_t size);

  TlsSession session_;
};

}  // namespace wman::detail
