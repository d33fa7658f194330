#include "detail/connection_impl.h"

#include <sys/socket.h>

#include <cassert>
#include <cerrno>

#include "detail/bus_router.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/outbound.h"
#include "detail/uv_error.h"
#include "detail/worker_runtime.h"
#include "wman/protocol_registry.h"
#include "wman/worker.h"

namespace wman::detail {

// What a connection costs beyond the public Connection: the part this
// file controls. A field added here is paid by every idle connection, a million of them on
// one machine; put what only a busy or closing connection needs in Held.
static_assert(sizeof(ConnectionImpl) - sizeof(Connection) <= 88,
              "ConnectionImpl grew: move what idle connections do not need into Held");

ConnectionImpl::ConnectionImpl(WorkerRuntime& runtime, std::unique_ptr<Codec> codec,
                               Transport::Ptr transport)
    : codec_(std::move(codec)),
      transport_(std::move(transport)),
      reply_kind_(codec_ ? codec_->defaultKind() : MessageKind::Binary) {
  worker_ = &runtime.worker();
  maxSendBuffer = runtime.worker().limits.max_send_buffer;
}

ConnectionImpl::~ConnectionImpl() = default;

void ConnectionImpl::enter(Stage stage) {
  stage_ = stage;
  state_ = stage == Stage::Open     ? ConnectionState::Established
           : stage == Stage::Closed ? ConnectionState::Closed
                                    : ConnectionState::Closing;
}

ConnectionImpl* ConnectionImpl::open(WorkerRuntime& runtime, int fd, ConnectionId id,
                                     std::error_code& ec) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    ec = std::error_code(errno, std::system_category());
    return nullptr;
  }
  auto* c =
      new ConnectionImpl(runtime, runtime.createCodec(), Transport::create(runtime.tlsContext()));
  if (!c->codec_) {
    delete c;
    ec = std::make_error_code(std::errc::protocol_not_supported);
    return nullptr;
  }
  c->id_ = id;
  if (domain == AF_UNIX) c->set(kPipe);
  if (const int rc = c->watchSocket(fd); rc != 0) {
    delete c;
    ec = uvError(rc);
    return nullptr;
  }
  c->last_active_ = runtime.loop().now();
  return c;
}

ConnectionImpl* ConnectionImpl::connect(WorkerRuntime& runtime, Outbound& owner, ConnectionId id,
                                        const sockaddr* addr, const std::string& path,
                                        std::unique_ptr<Codec> codec,
                                        std::shared_ptr<TlsContext> tls, std::error_code& ec) {
  auto* c = new ConnectionImpl(runtime, std::move(codec), Transport::create(std::move(tls)));
  c->outbound_ = &owner;
  c->id_ = id;
  if (addr == nullptr) c->set(kPipe);
  // Not Told until its session opens: a link that never opened is a failed connect for
  // the application, not a close.
  if (const int rc = c->startConnect(addr, path); rc != 0) {
    delete c;
    ec = uvError(rc);
    return nullptr;
  }
  c->last_active_ = runtime.loop().now();
  return c;
}

Connection& ConnectionImpl::linkFace() {
  return outbound_->face();
}

const ConnectionEvents& ConnectionImpl::linkEvents() const {
  return outbound_->events();
}

void ConnectionImpl::start() {
  readStart();
  if (stage_ == Stage::Closed) return;
  log().debug("conn={} {} {}", id_, outbound_ ? "connected to" : "accepted from", remoteAddress());
  if (outbound_) {
    codec_->encodeOpening(out());
    scheduleFlush();
  }
  // Handshake protocols, and TLS, tell the application once the handshake succeeded.
  if (codec_->isOpen() && transport_->established()) {
    opened();
    return;
  }
  opening_ = Opening::Handshaking;
  // The handshake deadline runs from here. A request session's first clock (keep-alive
  // idle) does instead, so a peer that never sends a request (or never finishes its TLS
  // handshake) is bounded too.
  if (!requests()) since_ = runtime().loop().now();
  runtime().handshakeStarted(*this);
  if (requests()) noteRequestWait();
}

void ConnectionImpl::transportReady() {
  if (opening_ == Opening::Handshaking && transport_->established() && codec_->isOpen()) opened();
}

void ConnectionImpl::opened() {
  if (opening_ == Opening::Handshaking) {
    if (handshakeClock()) since_ = 0;  // no unfinished message yet
    opening_ = Opening::Told;
    runtime().handshakeEnded(*this);
  }
  opening_ = Opening::Told;
  if (outbound_ && !outbound_->linkOpened(*this)) return;
  dispatch(
      id_, "onConnect", events().onConnect, [this] { runtime().callbackFailed(*this); }, face());
  // Its generation retired while it was in its handshake: it was finished rather than
  // dropped, and now closes like the generation's other connections.
  if (state_ == ConnectionState::Established && runtime().stopping()) {
    close(WorkerRuntime::kGoingAway, "server going away");
  }
}

void ConnectionImpl::orphan() {
  outbound_ = nullptr;
  // Never to be told; as for a handshake, the runtime stops counting it at once.
  const bool handshaking = opening_ == Opening::Handshaking;
  opening_ = Opening::Silent;
  if (handshaking) runtime().handshakeEnded(*this);
  abort(WorkerRuntime::kGoingAway, "going away");
}

void ConnectionImpl::reject() {
  opening_ = Opening::Silent;
  destroy();
}

SendStatus ConnectionImpl::queue(std::string_view data, MessageKind kind, bool raw) {
  if (state_ != ConnectionState::Established || !codec_->isOpen()) return SendStatus::Dropped;
  const std::size_t limit = face().maxSendBuffer;
  const std::size_t queued = buffered();
  if (has(kBufferFull) || queued >= limit) return dropSend();
  const SendStatus status = writing() ? SendStatus::Buffered : SendStatus::Ok;
  runtime().stats().messages_out++;
  if (data.size() >= kGatherMin && !raw && status == SendStatus::Ok) {
    if (sendLarge(data, kind)) return status;
  }
  std::string& wire = out();
  const std::size_t start = wire.size();
  // Room for the message and a frame header (at most 14 bytes in any codec of ours).
  const std::size_t want = start + data.size() + 16;
  if (wire.capacity() < want) buffers().provide(wire, want);
  if (raw) {
    wire.append(data);
  } else {
    codec_->encode(asBytes(data), kind, wire);
  }
  scheduleFlush();
  // noteQueued(), from what was queued before and what the encoding added.
  if (queued + (wire.size() - start) >= limit) bufferFull();
  return status;
}

SendStatus ConnectionImpl::dropSend() {
  runtime().stats().send_fail++;
  dispatch(
      id_, "onError", events().onError, [] {}, face(), error_code::kSendFail,
      std::string_view("send buffer full, data dropped"));
  return SendStatus::Dropped;
}

bool ConnectionImpl::sendLarge(std::string_view data, MessageKind kind) {
  if (!transport_->passesThrough() || !sendGathered(data, kind)) return false;
  if (state_ != ConnectionState::Established) return true;
  if (buffered() == 0) settle();
  noteQueued();
  return true;
}

void ConnectionImpl::bufferFull() {
  set(kBufferFull);
  dispatch(
      id_, "onBufferFull", events().onBufferFull, [this] { runtime().callbackFailed(*this); },
      face());
}

bool ConnectionImpl::controlFits(const char* what) {
  // The same rule as queue(): nothing more once the queue reached maxSendBuffer, so what
  // a peer can make us hold is bounded by it plus one frame. A send is Dropped, but a
  // control frame cannot be (a Ping must be answered, RFC 6455 5.5.2): a peer that asks
  // for more while reading nothing is closed instead.
  if (buffered() < face().maxSendBuffer) return true;
  runtime().stats().protocol_errors++;
  runtime().peerLog(PeerCause::Unread, spdlog::level::info, *this,
                    "{} over max_send_buffer ({} B queued, peer not reading); closing", what,
                    buffered());
  close(kPolicyViolation, "send buffer full");
  return false;
}

void ConnectionImpl::flushedForClose() {
  if (stage_ == Stage::Lingering) return;  // already waiting for the peer to close
  if (stage_ != Stage::FlushingToLinger) {
    startClose();
    return;
  }
  // The peer may still be sending (a message over the limit, frames behind a bad one).
  // Closing now with its data unread would make the kernel answer with a reset, and the
  // peer would likely lose the Close frame or HTTP error it has not read yet. Instead send
  // FIN and discard input until the peer closes or the close deadline passes.
  if (::shutdown(fd(), SHUT_WR) != 0) {
    startClose();
    return;
  }
  enter(Stage::Lingering);
  runtime().watchClosing(*this);
  readStart();
}

bool ConnectionImpl::queueClose(std::uint16_t code, std::string_view reason) {
  if (has(kCloseSent) || !codec_->isOpen()) return false;
  // A no-op for stateless codecs; a WebSocket Close frame otherwise.
  std::string& wire = out();
  const std::size_t before = wire.size();
  codec_->encodeControl(DecodeResult::Status::Close, code, asBytes(reason), wire);
  if (wire.size() == before) return false;
  set(kCloseSent);
  return true;
}

void ConnectionImpl::close(std::uint16_t code, std::string_view reason) {
  if (state_ != ConnectionState::Established) return;
  closeAfterFlush(queueClose(code, reason));
}

void ConnectionImpl::ping() {
  if (state_ != ConnectionState::Established || has(kPingSent) || has(kCloseSent) ||
      !codec_->isOpen()) {
    return;
  }
  // A peer whose queue is full is not reading: no ping, and with no input it is closed
  // after a second quiet interval like any silent peer.
  if (buffered() >= face().maxSendBuffer) return;
  set(kPingSent);
  set(kPingQueued);
  codec_->encodeControl(DecodeResult::Status::Ping, 0, {}, out());
  scheduleFlush();
}

void ConnectionImpl::close(std::string_view data) {
  if (state_ != ConnectionState::Established) return;
  if (!data.empty()) queue(data, reply_kind_, false);
  closeAfterFlush(false);
}

void ConnectionImpl::closeAfterFlush(bool linger) {
  if (state_ != ConnectionState::Established) return;  // a callback of queue() closed it
  // Normal closure. Our own Close frame tells the peer why, so we linger after it; the
  // echo of the peer's Close does not: that peer has nothing more to send.
  if (queueClose(1000, {})) linger = true;
  enter(linger ? Stage::FlushingToLinger : Stage::Flushing);
  if (outbound_) outbound_->linkClosing(*this);
  since_ = runtime().loop().now();  // the close deadline's start
  readStop();
  log().debug("conn={} closing, {} bytes to flush", id_, buffered());
  if (buffered() == 0 && !transport_->flushesOnClose()) {
    flushedForClose();
  } else {
    runtime().watchClosing(*this);
    scheduleFlush();
  }
}

void ConnectionImpl::abort(std::uint16_t code, std::string_view reason) {
  if (state_ == ConnectionState::Closed) return;
  // Whatever is queued goes out before the Close frame, so it is never sent out of order;
  // one non-blocking try, then the handle closes whatever the kernel took.
  if (state_ == ConnectionState::Established && !writing() && queueClose(code, reason)) {
    std::string scratch;
    tryWrite(transport_->output(out(), /*closing=*/true, scratch));
  }
  destroy();
}

void ConnectionImpl::destroy() {
  if (state_ == ConnectionState::Closed) return;
  startClose();
}

void ConnectionImpl::startClose() {
  enter(Stage::Closed);
  if (has(kFlushScheduled)) {
    runtime().loop().cancelFlush(this);
    clear(kFlushScheduled);
  }
  if (has(kContinueScheduled)) {
    runtime().loop().cancelContinue(this);
    clear(kContinueScheduled);
  }
  since_ = 0;
  closeSocket();
}

void ConnectionImpl::finishClose() {
  // The application hears of a connection's close only if it heard of its opening.
  if (opening_ == Opening::Handshaking) {
    opening_ = Opening::Silent;
    runtime().handshakeEnded(*this);
  }
  const bool told = opening_ == Opening::Told;
  log().debug("conn={} closed", id_);
  runtime().forget(*this);
  if (outbound_) {
    // The owner tells the application (onClose, or onError for a link that never opened)
    // and may connect again; this link is gone either way.
    outbound_->linkClosed(*this, told);
  } else if (told) {
    dispatch(
        id_, "onClose", worker_->onClose, [] {}, *this);
    BusRouter::get().connectionClosed(runtime(), id_);
  }
  delete this;
}

void ConnectionImpl::failed(const char* what, int status) {
  log().debug("conn={} {} failed: {}; closing", id_, what, uv_strerror(status));
  linkFailure(std::string(what) + " failed: " + uv_strerror(status));
  destroy();
}

void ConnectionImpl::linkFailure(std::string_view why) {
  if (outbound_ && opening_ != Opening::Told) outbound_->noteFailure(why);
}

}  // namespace wman::detail
