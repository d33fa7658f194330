// The read path of a connection: bytes from the socket (through its transport), decoded in
// place and delivered, within a per-pass budget so one busy peer cannot starve the others
// on its loop, and the clock that bounds how long a peer may hold an unfinished message.
#include <algorithm>

#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/log.h"
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

void ConnectionImpl::handleInput(const char* data, std::size_t size) {
  face().bytes_read_ += size;
  WorkerRuntime& rt = runtime();
  rt.stats().bytes_in += size;
  last_active_ = rt.loop().now();
  clear(kPingSent);
  if (state_ != ConnectionState::Established) return;
  startShare(rt.loop().pass());
  transport_->input(*this, data, size);
  if (state_ != ConnectionState::Established) return;
  if (!has(kAtBoundary)) notePartial();
  // The bytes were read already; spending them only decides whether to read more now.
  if (!spend(size)) yieldInput();
}

void ConnectionImpl::handlePlain(const char* data, std::size_t size) {
  if (!holdsInput()) {
    // Fast path: decode straight from the shared read buffer; copy only an incomplete tail
    // (or what a pause or the read budget held back).
    ByteSpan input{reinterpret_cast<const std::byte*>(data), size};
    std::size_t used = deliver(input);
    if (used < size && state_ == ConnectionState::Established) {
      std::string& in = held().in;
      buffers().provide(in, size - used);
      in.assign(data + used, size - used);
    }
    return;
  }
  std::string& in = held_->in;
  buffers().provide(in, in.size() + size);
  in.append(data, size);
  deliverHeld();
}

void ConnectionImpl::deliverHeld() {
  // The block stays while deliver() runs: settle() frees it only once `in` is empty.
  std::string& in = held_->in;
  std::size_t used = deliver(asBytes(in));
  if (used == in.size()) {
    buffers().recycle(in);
  } else if (used > 0) {
    in.erase(0, used);
  }
}

std::size_t ConnectionImpl::deliver(ByteSpan input) {
  // The share was started for this pass by the caller (startShare): count the steps
  // locally, and keep the count for the rest of the pass on every way out.
  const bool bytes_left = pass_bytes_ < kPassBytes;
  std::uint32_t steps = pass_steps_;
  auto& stats = runtime().stats();
  std::size_t offset = 0;
  bool more = true;
  bool message = false;
  while (more && offset < input.size() && state_ == ConnectionState::Established && !paused_ &&
         !has(kYielded)) {
    DecodeResult r = codec_->decode(input.subspan(offset));
    offset += r.consumed;
    message = r.status == DecodeResult::Status::Message;
    switch (r.status) {
      case DecodeResult::Status::Message:
        stats.messages++;
        reply_kind_ = r.kind;
        // The message is complete: whatever follows starts a new unfinished-message clock.
        stopPartialClock();
        dispatch(
            id_, "onMessage", events().onMessage, [this] { runtime().callbackFailed(*this); },
            face(), Message(r.payload, r.kind));
        break;
      case DecodeResult::Status::NeedMore:
        more = r.consumed != 0;
        break;
      case DecodeResult::Status::Error:
        protocolError(r);
        more = false;
        break;
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
    if (more && (++steps >= kPassSteps || !bytes_left) && state_ == ConnectionState::Established) {
      yieldInput();
    }
  }
  pass_steps_ = std::min<std::uint32_t>(steps, (1u << 12) - 1);
  // A whole message, then nothing: the codec holds no part of one and no input is left
  // (the message stopped the clock already), so notePartial() has nothing to do.
  if (message && offset == input.size()) {
    set(kAtBoundary);
  } else {
    clear(kAtBoundary);
  }
  return offset;
}

bool ConnectionImpl::spend(std::size_t bytes) {
  pass_bytes_ = std::min<std::size_t>(pass_bytes_ + bytes, (1u << 20) - 1);
  return pass_bytes_ < kPassBytes && pass_steps_ < kPassSteps;
}

void ConnectionImpl::yieldInput() {
  if (has(kYielded)) return;
  set(kYielded);
  // Input already read stays held, in order, for continueInput(). The socket stays in the
  // epoll set: continueInput() comes in the next pass and reads on, so taking it out and
  // putting it back would be two epoll_ctl calls per yield (a bulk sender yields after every
  // 64 KiB read). Its events are ignored meanwhile (socketEvents), and any other change of
  // interest (readStop, rearm) takes it out as before.
  clear(kReading);
  scheduleContinue();
}

void ConnectionImpl::scheduleContinue() {
  if (has(kContinueScheduled)) return;
  set(kContinueScheduled);
  runtime().loop().scheduleContinue(this);
}

void ConnectionImpl::continueInput() {
  clear(kContinueScheduled);
  if (has(kConnectFailed)) {
    clear(kConnectFailed);
    destroy();  // the reason is noted already (startConnect)
    return;
  }
  clear(kYielded);
  // A paused connection reads again only through resume(), which schedules this anew. Not
  // reading on: the socket left in the epoll set by yieldInput() goes (rearm), or its input
  // would wake the loop on every pass.
  if (state_ != ConnectionState::Established || paused_) return rearm();
  if (holdsInput()) {
    startShare(runtime().loop().pass());
    deliverHeld();
    if (state_ != ConnectionState::Established || paused_) return rearm();
    notePartial();
    settle();
    if (has(kYielded)) return;  // this pass's budget is spent too; the next one goes on
  }
  readStart();
}

void ConnectionImpl::notePartial() {
  // A request session's clocks depend on what it waits for, not on held bytes.
  if (requests()) return noteRequestWait();
  // A handshake is bounded by handshake_timeout (its clock is since_ then), and a paused
  // connection's held input is the application's choice, not the peer's.
  if (handshaking()) return;
  if (paused_ || (!holdsInput() && !codec_->inMessage())) {
    stopPartialClock();
    return;
  }
  if (since_ != 0) return;  // the clock runs from the message's first bytes
  // 0 means "none", and a loop clock that reads 0 is possible right after start.
  since_ = std::max<std::uint64_t>(runtime().loop().now(), 1);
  runtime().trackDeadlines(*this);
}

void ConnectionImpl::messageTimedOut(std::uint64_t timeout_ms) {
  stopPartialClock();
  if (state_ != ConnectionState::Established) return;
  runtime().stats().protocol_errors++;
  runtime().peerLog(PeerCause::Timeout, spdlog::level::info, *this,
                    "message unfinished after {} ms ({} B held); closing", timeout_ms, inputHeld());
  // Session protocols tell the peer why; the rest of its input is discarded while lingering.
  close(kPolicyViolation, "message timeout");
}

void ConnectionImpl::protocolError(const DecodeResult& r) {
  runtime().stats().protocol_errors++;
  runtime().peerLog(PeerCause::ProtocolError, spdlog::level::info, *this,
                    "protocol error {}: {}; closing", r.code, r.reason);
  if (outbound_ && opening_ != Opening::Told) {
    // A refused handshake is the connect's failure, reported once by the owner.
    linkFailure(r.reason);
  } else {
    dispatch(
        id_, "onError", events().onError, [] {}, face(), static_cast<int>(r.code), r.reason);
  }
  if (state_ != ConnectionState::Established) return;
  // The peer learns why (a WebSocket close code, an HTTP status) before the close; what the
  // application queued earlier is flushed with it.
  if (requests()) runtime().countResponse(r.code);
  codec_->encodeError(r.code, r.reason, out());
  set(kCloseSent);
  closeAfterFlush(/*linger=*/true);
}

void ConnectionImpl::pause() {
  if (paused_) return;
  paused_ = true;
  stopPartialClock();
  if (state_ == ConnectionState::Established) readStop();
}

void ConnectionImpl::resume() {
  if (!paused_) return;
  paused_ = false;
  if (state_ != ConnectionState::Established) return;
  // Input already read but held back by the pause is delivered from the next loop pass,
  // not from inside resumeRecv(), so a caller never sees onMessage re-entered; reading
  // restarts after it, so nothing read later overtakes it.
  if (holdsInput() || has(kYielded)) {
    scheduleContinue();
    return;
  }
  readStart();
}

}  // namespace wman::detail
