// One TLS connection as a byte transformer: ciphertext in through feed(), plaintext out of
// read(); plaintext in through write(), ciphertext out of takeOutput(). It never touches a
// socket, so the connection decides when bytes move and tests can pump two sessions
// against each other in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "detail/tls_context.h"

struct ssl_st;

namespace wman::detail {

struct TlsSessionBio;

class TlsSession {
 public:
  enum class State : std::uint8_t {
    Handshaking,  // no application data yet
    Open,         // handshake done; data flows both ways
    Closed,       // close_notify sent or received; nothing more is read or written
    Failed,       // a fatal error; error() says why, takeOutput() may hold the alert
  };

  // A session on `context`'s side: a server waits for a ClientHello, a client queues its
  // ClientHello for takeOutput() at once. The session keeps the context alive.
  explicit TlsSession(std::shared_ptr<TlsContext> context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Hands over ciphertext received from the peer; it is copied and processed by read().
  // Ignored once the session is Closed or Failed.
  void feed(const char* data, std::size_t n);

  // Advances the handshake with the input fed so far (one step: at most one flight of the
  // peer is processed), then decrypts into `buf`. Returns the bytes decrypted (> 0; call
  // again, there may be more), 0 when more input is needed, or -1 when the session is
  // Closed or Failed (see state()). Plaintext read before a close_notify or an error is
  // returned first; the next call returns -1. Call takeOutput() afterwards: handshake
  // records, session tickets, alerts and a close_notify reply are produced here.
  std::ptrdiff_t read(char* buf, std::size_t cap);

  // Encrypts `plain` for takeOutput(). Before the handshake is done the plaintext is kept
  // and encrypted when it finishes. Returns false (and drops `plain`) when the session is
  // Closed or Failed, or when encrypting failed (then it is Failed).
  bool write(std::string_view plain);

  // Appends the ciphertext waiting to be sent to `wire` and forgets it. When `wire` is
  // empty the buffer is moved, not copied.
  void takeOutput(std::string& wire);
  bool hasOutput() const { return !out_.empty(); }

  // Queues a close_notify (when the handshake is done) and moves to Closed. Plaintext
  // written while Open goes out before it; plaintext still waiting for the handshake is
  // dropped. Nothing can be written after.
  void shutdown();

  State state() const { return state_; }
  bool handshakeDone() const;

  // Why the session Failed, in OpenSSL's words ("wrong version number", "certificate
  // verify failed (unable to get local issuer certificate)"); "" otherwise.
  std::string_view error() const { return error_ ? std::string_view(*error_) : std::string_view(); }

  // The ALPN protocol agreed on ("" = none) and the SNI name the client sent ("" = none).
  std::string_view alpn() const;
  std::string_view serverName() const;

  // "TLSv1.3", and the cipher name; "" before the handshake.
  std::string_view protocol() const;
  std::string_view cipher() const;

  // True when the handshake resumed an earlier session (ticket or session cache).
  bool resumed() const;

  // The peer's certificate: subject in RFC 2253 form ("CN=localhost,O=wman test") and
  // SHA-256 fingerprint in lower-case hex; "" when the peer sent none.
  std::string peerSubject() const;
  std::string peerFingerprint() const;

  // Ciphertext fed but not yet processed.
  std::size_t bufferedInput() const { return in_.size() - in_pos_; }

  // The OpenSSL object, for tests and diagnostics only.
  ssl_st* native() const { return ssl_; }

 private:
  friend struct TlsSessionBio;

  bool encrypt(std::string_view plain);
  void fail(int ssl_error);
  void releaseInput();

  std::shared_ptr<TlsContext> context_;
  ssl_st* ssl_ = nullptr;
  // Buffers hold no memory while a connection is idle: a drained buffer is released, not
  // cleared, because a million idle connections would otherwise keep their last burst.
  std::string in_;
  std::size_t in_pos_ = 0;
  std::string out_;
  std::string pending_;  // plaintext written during the handshake
  std::unique_ptr<std::string> error_;
  State state_ = State::Handshaking;
};

}  // namespace wman::detail
