// What lies between a connection and its socket: bytes as they cross the wire on one side,
// the protocol's plaintext on the other. A plain transport passes them through; TLS
// decrypts what was read and encrypts what is written, and runs its own handshake, alerts
// and close_notify. The connection calls its transport where it reads, writes and closes,
// and never asks which one it has (nginx swaps c->recv and c->send per connection the
// same way).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace wman::detail {

class ConnectionImpl;
class TlsContext;

class Transport {
 public:
  // Frees a transport that belongs to one connection; the shared plain one is kept.
  struct Release {
    void operator()(Transport* t) const { t->release(); }
  };
  using Ptr = std::unique_ptr<Transport, Release>;

  // The transport of a new connection: TLS on `tls` (server or client side, as the context
  // says), or the plain one when `tls` is null.
  static Ptr create(std::shared_ptr<TlsContext> tls);
  // The plain transport: stateless, one for the whole process.
  static Ptr plain();

  // Bytes read from `c`'s socket. The plaintext they carry is delivered to
  // c.handlePlain(); a transport may also open, close or fail the connection (a finished
  // handshake, a close_notify, an alert). `c` may be closing when this returns.
  virtual void input(ConnectionImpl& c, const char* data, std::size_t size) = 0;

  // The bytes to put on the wire for `plain`, everything the connection queued in this
  // pass, which is left empty or handed back: either `plain` itself, or ciphertext moved
  // into `scratch` (with records this transport wants sent, such as handshake messages).
  // `closing`: the stream ends after these bytes (TLS appends its close_notify).
  virtual std::string& output(std::string& plain, bool closing, std::string& scratch) = 0;

  // The transport's own handshake is done: a connection is open for the application
  // once its protocol is open too. Always true for plain.
  virtual bool established() const = 0;

  // Closing must flush even when nothing is queued (TLS ends with a close_notify).
  virtual bool flushesOnClose() const = 0;

  // output() hands the plaintext back unchanged, so a large payload may go to the kernel
  // straight from where the application holds it (a gathered write).
  virtual bool passesThrough() const = 0;

  // Outbound links turn Nagle's algorithm off (plain only, as before the transports).
  virtual bool noDelay() const = 0;

 protected:
  Transport() = default;
  ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

 private:
  virtual void release() = 0;
};

}  // namespace wman::detail
