// The read path of a connection: bytes from the socket (decrypted when TLS), decoded in
// place and delivered, within a per-pass budget so one busy peer cannot starve the others
// on its loop, and the clock that bounds how long a peer may hold an unfinished message.
#include <algorithm>

#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/tls_session.h"
#include "detail/worker_runtime.h"
#include "wman/worker.h"

namespace wman::detail {
namespace {

// What one connection may take of one loop pass before the others get their turn (DESIGN
// 3, fairness). libuv reads up to 32 x 64 KiB per callback for one stream; one read buffer
// (64 KiB) of input, or 1024 decoded frames or messages, is the share, so a neighbour waits
// at most one share per busy connection while a bulk sender still moves 64 KiB per pass.
// bench/hostile (fragment stream) measures what a neighbour sees.
constexpr std::size_t kPassBytes = EventLoop::kReadBufferSize;
constexpr std::uint32_t kPassSteps = 1024;

}  // namespace

void ConnectionImpl::onAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<ConnectionImpl*>(h->data);
  auto span = c->runtime_->loop().readBuffer();
  *buf = uv_buf_init(span.data(), static_cast<unsigned>(span.size()));
}

void ConnectionImpl::onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<ConnectionImpl*>(s->data);
  if (nread > 0) {
    c->handleInput(buf->base, static_cast<std::size_t>(nread));
  } else if (nread < 0) {
    if (nread == UV_EOF) {
      log().debug("conn={} peer closed", c->id_);
      c->linkFailure("the server closed the connection during the handshake");
      c->destroy();
    } else {
      c->failed("read", static_cast<int>(nread));
    }
  }
}

void ConnectionImpl::handleInput(const char* data, std::size_t size) {
  face().bytes_read_ += size;
  runtime_->stats().bytes_in += size;
  last_active_ = runtime_->loop().now();
  ping_sent_ = false;
  if (state_ != ConnectionState::Established) return;
  if (tls_) {
    tlsInput(data, size);
  } else {
    handlePlain(data, size);
  }
  if (state_ != ConnectionState::Established) return;
  notePartial();
  // The bytes were read already; spending them only decides whether to read more now.
  if (!spend(size, 0)) yieldInput();
}

bool ConnectionImpl::refusePlainHttp(const char* data, std::size_t size) {
  // A TLS record starts with its content type (22 for a handshake); an upper-case letter
  // is a request line such as "GET / HTTP/1.1" sent to the wrong scheme.
  if (outbound_ || bytes_read_ != size || size < 4 || data[0] < 'A' || data[0] > 'Z') return false;
  std::string_view head(data, std::min<std::size_t>(size, 8));
  for (std::string_view method : {"GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "DELETE "}) {
    if (!head.starts_with(method)) continue;
    runtime_->stats().protocol_errors++;
    runtime_->peerLog(PeerCause::Tls, spdlog::level::info, *this,
                      "plain HTTP on a TLS port; answered 400");
    static constexpr std::string_view kBody =
        "This port speaks TLS: use https:// or wss:// instead of http:// or ws://.\n";
    tls_.reset();  // the answer goes out in the clear
    out_ =
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n"
        "Content-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + std::string(kBody);
    linger_ = true;
    close({});
    return true;
  }
  return false;
}

void ConnectionImpl::tlsInput(const char* data, std::size_t size) {
  if (!tls_->handshakeDone() && refusePlainHttp(data, size)) return;
  tls_->feed(data, size);
  // The session copied the ciphertext, so the shared read buffer can take the plaintext,
  // where the codec may decode (and unmask) in place as on a plain connection. Plaintext
  // that a pause or the read budget holds back is appended to in_ (at most what this one
  // read decrypts to, since reading stops).
  std::span<char> buf = runtime_->loop().readBuffer();
  for (;;) {
    const std::ptrdiff_t got = tls_->read(buf.data(), buf.size());
    if (tls_->hasOutput()) scheduleFlush();  // handshake records, tickets, alerts
    // onConnect before the first message (for handshake protocols it waits for theirs).
    if (handshaking_ && tls_->handshakeDone() && codec_->isOpen()) opened();
    if (state_ != ConnectionState::Established) return;
    if (got > 0) {
      handlePlain(buf.data(), static_cast<std::size_t>(got));
      if (state_ != ConnectionState::Established) return;
      continue;
    }
    if (got == 0) return;
    if (tls_->state() == TlsSession::State::Failed) {
      runtime_->stats().protocol_errors++;
      runtime_->peerLog(PeerCause::Tls, spdlog::level::info, *this, "TLS {} failed: {}",
                        tls_->handshakeDone() ? "session" : "handshake", tls_->error());
      linkFailure(std::string("TLS handshake failed: ") + std::string(tls_->error()));
      linger_ = true;  // the alert goes out before the close
    } else {
      log().debug("conn={} peer sent close_notify", id_);
    }
    close({});
    return;
  }
}

void ConnectionImpl::handlePlain(const char* data, std::size_t size) {
  if (in_.empty()) {
    // Fast path: decode straight from the shared read buffer; copy only an incomplete tail
    // (or what a pause or the read budget held back).
    ByteSpan input{reinterpret_cast<const std::byte*>(data), size};
    std::size_t used = deliver(input);
    if (used < size && state_ == ConnectionState::Established) {
      buffers().provide(in_, size - used);
      in_.assign(data + used, size - used);
    }
    return;
  }
  buffers().provide(in_, in_.size() + size);
  in_.append(data, size);
  deliverHeld();
}

void ConnectionImpl::deliverHeld() {
  std::size_t used = deliver(asBytes(in_));
  if (used == in_.size()) {
    buffers().recycle(in_);
  } else if (used > 0) {
    in_.erase(0, used);
  }
}

std::size_t ConnectionImpl::deliver(ByteSpan input) {
  std::size_t offset = 0;
  while (offset < input.size() && state_ == ConnectionState::Established && !paused_ && !yielded_) {
    DecodeResult r = codec_->decode(input.subspan(offset));
    offset += r.consumed;
    switch (r.status) {
      case DecodeResult::Status::Message:
        runtime_->stats().messages++;
        reply_kind_ = r.kind;
        // The message is complete: whatever follows starts a new unfinished-message clock.
        partial_since_ = 0;
        dispatch(
            id_, "onMessage", events().onMessage, [this] { runtime_->callbackFailed(*this); },
            face(), Message(r.payload, r.kind));
        break;
      case DecodeResult::Status::NeedMore:
        if (r.consumed == 0) return offset;
        break;
      case DecodeResult::Status::Error:
        protocolError(r);
        return offset;
      case DecodeResult::Status::Request:
      case DecodeResult::Status::Body:
        requestEvent(r);
        break;
      default:
        sessionEvent(r);
        break;
    }
    // Every step that consumed a frame or message costs the same share of the pass, so a
    // stream of tiny fragments is bounded like a stream of tiny messages.
    if (!spend(0, 1) && state_ == ConnectionState::Established) yieldInput();
  }
  return offset;
}

bool ConnectionImpl::spend(std::size_t bytes, std::uint32_t steps) {
  const std::uint64_t pass = runtime_->loop().pass();
  if (budget_pass_ != pass) {
    budget_pass_ = pass;
    pass_bytes_ = 0;
    pass_steps_ = 0;
  }
  pass_bytes_ += bytes;
  pass_steps_ += steps;
  return pass_bytes_ < kPassBytes && pass_steps_ < kPassSteps;
}

void ConnectionImpl::yieldInput() {
  if (yielded_) return;
  yielded_ = true;
  // Stopping inside the read callback also ends libuv's loop of up to 32 reads for this
  // stream; input already read stays in in_, in order, for continueInput().
  uv_read_stop(&h_.stream);
  scheduleContinue();
}

void ConnectionImpl::scheduleContinue() {
  if (continue_scheduled_) return;
  continue_scheduled_ = true;
  runtime_->loop().scheduleContinue(this);
}

void ConnectionImpl::continueInput() {
  continue_scheduled_ = false;
  yielded_ = false;
  // A paused connection reads again only through resume(), which schedules this anew.
  if (state_ != ConnectionState::Established || paused_) return;
  if (!in_.empty()) {
    deliverHeld();
    if (state_ != ConnectionState::Established || paused_) return;
    notePartial();
    if (yielded_) return;  // this pass's budget is spent too; the next one goes on
  }
  const int rc = uv_read_start(&h_.stream, &ConnectionImpl::onAlloc, &ConnectionImpl::onRead);
  if (rc != 0 && rc != UV_EALREADY) failed("read start", rc);
}

void ConnectionImpl::notePartial() {
  // A request session's clocks depend on what it waits for, not on held bytes.
  if (requests()) return noteRequestWait();
  // A handshake is bounded by handshake_timeout, and a paused connection's held input is
  // the application's choice, not the peer's.
  if (handshaking_ || paused_ || (in_.empty() && !codec_->inMessage())) {
    partial_since_ = 0;
    return;
  }
  if (partial_since_ != 0) return;  // the clock runs from the message's first bytes
  // 0 means "none", and a loop clock that reads 0 is possible right after start.
  partial_since_ = std::max<std::uint64_t>(runtime_->loop().now(), 1);
  runtime_->trackDeadlines(*this);
}

void ConnectionImpl::messageTimedOut(std::uint64_t timeout_ms) {
  partial_since_ = 0;
  if (state_ != ConnectionState::Established) return;
  runtime_->stats().protocol_errors++;
  runtime_->peerLog(PeerCause::Timeout, spdlog::level::info, *this,
                    "message unfinished after {} ms ({} B held); closing", timeout_ms, in_.size());
  // Session protocols tell the peer why; the rest of its input is discarded while lingering.
  close(kPolicyViolation, "message timeout");
}

void ConnectionImpl::protocolError(const DecodeResult& r) {
  runtime_->stats().protocol_errors++;
  runtime_->peerLog(PeerCause::ProtocolError, spdlog::level::info, *this,
                    "protocol error {}: {}; closing", r.code, r.reason);
  if (outbound_ && silent_) {
    // A refused handshake is the connect's failure, reported once by the owner.
    linkFailure(r.reason);
  } else {
    dispatch(
        id_, "onError", events().onError, [] {}, face(), static_cast<int>(r.code), r.reason);
  }
  if (state_ != ConnectionState::Established) return;
  // The peer learns why (a WebSocket close code, an HTTP status) before the close; what the
  // application queued earlier is flushed with it.
  if (requests()) runtime_->countResponse(r.code);
  codec_->encodeError(r.code, r.reason, out_);
  close_sent_ = true;
  linger_ = true;
  close({});
}

void ConnectionImpl::pause() {
  if (paused_) return;
  paused_ = true;
  partial_since_ = 0;
  if (state_ == ConnectionState::Established) uv_read_stop(&h_.stream);
}

void ConnectionImpl::resume() {
  if (!paused_) return;
  paused_ = false;
  if (state_ != ConnectionState::Established) return;
  // Input already read but held back by the pause is delivered from the next loop pass,
  // not from inside resumeRecv(), so a caller never sees onMessage re-entered; reading
  // restarts after it, so nothing read later overtakes it.
  if (!in_.empty() || yielded_) {
    scheduleContinue();
    return;
  }
  const int rc = uv_read_start(&h_.stream, &ConnectionImpl::onAlloc, &ConnectionImpl::onRead);
  if (rc != 0 && rc != UV_EALREADY) failed("read start", rc);
}

}  // namespace wman::detail
