#include "detail/tls_transport.h"

#include <algorithm>
#include <span>

#include "detail/connection_impl.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/worker_runtime.h"

namespace wman::detail {

void TlsTransport::input(ConnectionImpl& c, const char* data, std::size_t size) {
  if (!session_.handshakeDone() && refusePlainHttp(c, data, size)) return;
  session_.feed(data, size);
  // The session copied the ciphertext, so the shared read buffer can take the plaintext,
  // where the codec may decode (and unmask) in place as on a plain connection. Plaintext
  // that a pause or the read budget holds back is held by the connection (at most what
  // this one read decrypts to, since reading stops).
  std::span<char> buf = c.runtime().loop().readBuffer();
  for (;;) {
    const std::ptrdiff_t got = session_.read(buf.data(), buf.size());
    if (session_.hasOutput()) c.scheduleFlush();  // handshake records, tickets, alerts
    // onConnect before the first message (for handshake protocols it waits for theirs).
    c.transportReady();
    if (c.state() != ConnectionState::Established) return;
    if (got > 0) {
      c.handlePlain(buf.data(), static_cast<std::size_t>(got));
      if (c.state() != ConnectionState::Established) return;
      continue;
    }
    if (got < 0) ended(c);
    return;
  }
}

void TlsTransport::ended(ConnectionImpl& c) {
  if (session_.state() != TlsSession::State::Failed) {
    log().debug("conn={} peer sent close_notify", c.id());
    c.close({});
    return;
  }
  c.runtime().stats().protocol_errors++;
  c.runtime().peerLog(PeerCause::Tls, spdlog::level::info, c, "TLS {} failed: {}",
                      session_.handshakeDone() ? "session" : "handshake", session_.error());
  c.linkFailure(std::string("TLS handshake failed: ") + std::string(session_.error()));
  c.closeAfterFlush(/*linger=*/true);  // the alert goes out before the close
}

std::string& TlsTransport::output(std::string& plain, bool closing, std::string& scratch) {
  // Everything queued in this pass becomes as few TLS records as possible; a closing
  // connection ends its stream with close_notify.
  if (!plain.empty()) {
    session_.write(plain);
    plain.clear();
  }
  if (closing) session_.shutdown();
  session_.takeOutput(scratch);
  return scratch;
}

bool TlsTransport::refusePlainHttp(ConnectionImpl& c, const char* data, std::size_t size) {
  // A TLS record starts with its content type (22 for a handshake); an upper-case letter
  // is a request line such as "GET / HTTP/1.1" sent to the wrong scheme.
  if (c.outbound_ || c.bytesRead() != size || size < 4 || data[0] < 'A' || data[0] > 'Z') {
    return false;
  }
  std::string_view head(data, std::min<std::size_t>(size, 8));
  for (std::string_view method : {"GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "DELETE "}) {
    if (!head.starts_with(method)) continue;
    c.runtime().stats().protocol_errors++;
    c.runtime().peerLog(PeerCause::Tls, spdlog::level::info, c,
                        "plain HTTP on a TLS port; answered 400");
    static constexpr std::string_view kBody =
        "This port speaks TLS: use https:// or wss:// instead of http:// or ws://.\n";
    // The answer goes out in the clear. `self` keeps this transport alive until return.
    Transport::Ptr self = std::exchange(c.transport_, Transport::plain());
    c.out() =
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n"
        "Content-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + std::string(kBody);
    c.closeAfterFlush(/*linger=*/true);
    return true;
  }
  return false;
}

}  // namespace wman::detail
