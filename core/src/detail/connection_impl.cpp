#include "detail/connection_impl.h"

#include <sys/socket.h>

#include <cassert>
#include <cerrno>

#include "detail/bus_router.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/outbound.h"
#include "detail/tls_session.h"
#include "detail/uv_error.h"
#include "detail/worker_runtime.h"
#include "wman/protocol_registry.h"
#include "wman/worker.h"

namespace wman::detail {
ConnectionImpl::ConnectionImpl(WorkerRuntime& runtime, std::unique_ptr<Codec> codec,
                               std::shared_ptr<TlsContext> tls)
    : runtime_(&runtime),
      codec_(std::move(codec)),
      tls_(tls ? std::make_unique<TlsSession>(std::move(tls)) : nullptr),
      reply_kind_(codec_ ? codec_->defaultKind() : MessageKind::Binary) {
  worker_ = &runtime.worker();
  maxSendBuffer = runtime.worker().limits.max_send_buffer;
  h_.handle.data = this;
}

ConnectionImpl::~ConnectionImpl() = default;

ConnectionImpl* ConnectionImpl::open(WorkerRuntime& runtime, int fd, ConnectionId id,
                                     std::error_code& ec) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    ec = std::error_code(errno, std::system_category());
    return nullptr;
  }
  auto* c = new ConnectionImpl(runtime, runtime.createCodec(), runtime.tlsContext());
  if (!c->codec_) {
    delete c;
    ec = std::make_error_code(std::errc::protocol_not_supported);
    return nullptr;
  }
  c->id_ = id;
  c->is_pipe_ = domain == AF_UNIX;
  uv_loop_t* loop = runtime.loop().raw();
  int rc = c->is_pipe_ ? uv_pipe_init(loop, &c->h_.pipe, 0) : uv_tcp_init(loop, &c->h_.tcp);
  if (rc == 0) {
    c->h_.handle.data = c;
    rc = c->is_pipe_ ? uv_pipe_open(&c->h_.pipe, fd) : uv_tcp_open(&c->h_.tcp, fd);
    if (rc != 0) {
      // The handle does not own the fd yet; close only the handle.
      c->silent_ = true;
      c->state_ = ConnectionState::Closed;
      uv_close(&c->h_.handle, [](uv_handle_t* h) { delete static_cast<ConnectionImpl*>(h->data); });
    }
  } else {
    delete c;
  }
  if (rc != 0) {
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
  auto* c = new ConnectionImpl(runtime, std::move(codec), std::move(tls));
  c->outbound_ = &owner;
  c->id_ = id;
  c->is_pipe_ = addr == nullptr;
  // Silent until its session opens: a link that never opened is a failed connect for the
  // application, not a close.
  c->silent_ = true;
  uv_loop_t* loop = runtime.loop().raw();
  int rc = c->is_pipe_ ? uv_pipe_init(loop, &c->h_.pipe, 0) : uv_tcp_init(loop, &c->h_.tcp);
  if (rc != 0) {
    delete c;
    ec = uvError(rc);
    return nullptr;
  }
  c->h_.handle.data = c;
  auto* req = new uv_connect_t;
  req->data = c;
  if (c->is_pipe_) {
    uv_pipe_connect(req, &c->h_.pipe, path.c_str(), &ConnectionImpl::onConnected);
  } else {
    if (!c->tls_) uv_tcp_nodelay(&c->h_.tcp, 1);
    rc = uv_tcp_connect(req, &c->h_.tcp, addr, &ConnectionImpl::onConnected);
  }
  if (rc != 0) {
    delete req;
    c->state_ = ConnectionState::Closed;
    c->outbound_ = nullptr;  // the caller hears of it through `ec`, not through the owner
    uv_close(&c->h_.handle, [](uv_handle_t* h) { delete static_cast<ConnectionImpl*>(h->data); });
    ec = uvError(rc);
    return nullptr;
  }
  c->last_active_ = runtime.loop().now();
  return c;
}

void ConnectionImpl::onConnected(uv_connect_t* req, int status) {
  auto* c = static_cast<ConnectionImpl*>(req->data);
  delete req;
  // UV_ECANCELED: closed while connecting (connect timeout, destroy); onClosed follows.
  if (status == UV_ECANCELED || c->state_ == ConnectionState::Closed) return;
  if (status < 0) {
    c->linkFailure(uv_strerror(status));
    c->destroy();
    return;
  }
  c->outbound_->linkConnected(*c);
  c->start();
}

Connection& ConnectionImpl::face() {
  return outbound_ ? outbound_->face() : *this;
}

const ConnectionEvents& ConnectionImpl::events() const {
  return outbound_ ? outbound_->events() : static_cast<const ConnectionEvents&>(*worker_);
}

void ConnectionImpl::start() {
  int rc = uv_read_start(&h_.stream, &ConnectionImpl::onAlloc, &ConnectionImpl::onRead);
  if (rc != 0) {
    failed("read start", rc);
    return;
  }
  log().debug("conn={} {} {}", id_, outbound_ ? "connected to" : "accepted from", remoteAddress());
  accepted_at_ = runtime_->loop().now();
  if (outbound_) {
    codec_->encodeOpening(out_);
    scheduleFlush();
  }
  // Handshake protocols, and TLS, tell the application once the handshake succeeded.
  if (codec_->isOpen() && !tls_) {
    opened();
  } else {
    handshaking_ = true;
    runtime_->handshakeStarted(*this);
    // A request session's first clock (keep-alive idle) runs from the accept, so a peer
    // that never sends a request (or never finishes its TLS handshake) is bounded too.
    if (requests()) noteRequestWait();
  }
}

void ConnectionImpl::opened() {
  silent_ = false;
  if (handshaking_) {
    handshaking_ = false;
    runtime_->handshakeEnded(*this);
  }
  if (outbound_ && !outbound_->linkOpened(*this)) return;
  dispatch(
      id_, "onConnect", events().onConnect, [this] { runtime_->callbackFailed(*this); }, face());
  // Its generation retired while it was in its handshake: it was finished rather than
  // dropped, and now closes like the generation's other connections.
  if (state_ == ConnectionState::Established && runtime_->stopping()) {
    close(WorkerRuntime::kGoingAway, "server going away");
  }
}

void ConnectionImpl::orphan() {
  outbound_ = nullptr;
  silent_ = true;
  abort(WorkerRuntime::kGoingAway, "going away");
}

void ConnectionImpl::reject() {
  silent_ = true;
  destroy();
}

SendStatus ConnectionImpl::queue(std::string_view data, MessageKind kind, bool raw) {
  if (state_ != ConnectionState::Established || !codec_->isOpen()) return SendStatus::Dropped;
  if (buffer_full_ || buffered() >= face().maxSendBuffer) {
    runtime_->stats().send_fail++;
    dispatch(
        id_, "onError", events().onError, [] {}, face(), error_code::kSendFail,
        std::string_view("send buffer full, data dropped"));
    return SendStatus::Dropped;
  }
  SendStatus status = writing_ ? SendStatus::Buffered : SendStatus::Ok;
  runtime_->stats().messages_out++;
  const bool gathered =
      !raw && !writing_ && !tls_ && data.size() >= kGatherMin && sendGathered(data, kind);
  if (!gathered) {
    // Room for the message and a frame header (at most 14 bytes in any codec of ours).
    buffers().provide(out_, out_.size() + data.size() + 16);
    if (raw) {
      out_.append(data);
    } else {
      codec_->encode(asBytes(data), kind, out_);
    }
    scheduleFlush();
  }
  if (state_ == ConnectionState::Established && buffered() >= face().maxSendBuffer) {
    buffer_full_ = true;
    dispatch(
        id_, "onBufferFull", events().onBufferFull, [this] { runtime_->callbackFailed(*this); },
        face());
  }
  return status;
}

void ConnectionImpl::scheduleFlush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  runtime_->loop().scheduleFlush(this);
}

void ConnectionImpl::flushScheduled() {
  flush_scheduled_ = false;
  flush();
}

bool ConnectionImpl::controlFits(const char* what) {
  // The same rule as queue(): nothing more once the queue reached maxSendBuffer, so what
  // a peer can make us hold is bounded by it plus one frame. A send is Dropped, but a
  // control frame cannot be (a Ping must be answered, RFC 6455 5.5.2): a peer that asks
  // for more while reading nothing is closed instead.
  if (buffered() < face().maxSendBuffer) return true;
  runtime_->stats().protocol_errors++;
  runtime_->peerLog(PeerCause::Unread, spdlog::level::info, *this,
                    "{} over max_send_buffer ({} B queued, peer not reading); closing", what,
                    buffered());
  close(kPolicyViolation, "send buffer full");
  return false;
}

void ConnectionImpl::flush() {
  if (writing_ || state_ == ConnectionState::Closed) return;
  if (!tls_) {
    write(out_);
    return;
  }
  // Everything queued in this iteration becomes as few TLS records as possible; a closing
  // connection ends its stream with close_notify.
  if (!out_.empty()) {
    tls_->write(out_);
    buffers().recycle(out_);
  }
  if (state_ == ConnectionState::Closing) tls_->shutdown();
  std::string wire;
  tls_->takeOutput(wire);
  write(wire);
}

void ConnectionImpl::write(std::string& wire) {
  if (wire.empty()) {
    afterWrite();
    return;
  }
  uv_buf_t buf = uv_buf_init(wire.data(), static_cast<unsigned>(wire.size()));
  int n = uv_try_write(&h_.stream, &buf, 1);
  if (n == UV_EAGAIN || n == UV_ENOSYS) n = 0;
  if (n < 0) {
    failed("write", n);
    return;
  }
  countWritten(static_cast<std::uint64_t>(n));
  if (static_cast<std::size_t>(n) == wire.size()) {
    buffers().recycle(wire);
    afterWrite();
    return;
  }
  // The kernel took part of it: hand the rest to libuv in one request, and gather new sends
  // in the (now empty) out_ meanwhile.
  pending_ = std::make_unique<PendingWrite>();
  pending_->data.swap(wire);
  uv_buf_t rest =
      uv_buf_init(pending_->data.data() + n, static_cast<unsigned>(pending_->data.size() - n));
  int rc = uv_write(&pending_->req, &h_.stream, &rest, 1, &ConnectionImpl::onWrite);
  if (rc != 0) {
    failed("write", rc);
    return;
  }
  pending_->offset = static_cast<std::size_t>(n);
  writing_ = true;
}

void ConnectionImpl::countWritten(std::uint64_t n) {
  face().bytes_written_ += n;
  runtime_->stats().bytes_out += n;
}

void ConnectionImpl::onWrite(uv_write_t* req, int status) {
  auto* c = static_cast<ConnectionImpl*>(req->handle->data);
  c->writing_ = false;
  if (status == 0) c->countWritten(c->pending_->data.size() - c->pending_->offset);
  c->buffers().recycle(c->pending_->data);
  c->pending_.reset();
  if (status < 0) {
    // UV_ECANCELED: destroy() closed the handle under a pending write; nothing to do.
    if (status != UV_ECANCELED) c->failed("write", status);
    return;
  }
  c->flush();
}

BufferPool& ConnectionImpl::buffers() const {
  return runtime_->loop().buffers();
}

void ConnectionImpl::afterWrite() {
  if (buffered() != 0) return;
  if (sending_file_ && state_ == ConnectionState::Established) {
    pumpFile();
    if (buffered() != 0) return;
  }
  if (buffer_full_) {
    buffer_full_ = false;
    dispatch(
        id_, "onBufferDrain", events().onBufferDrain, [this] { runtime_->callbackFailed(*this); },
        face());
  }
  if (state_ == ConnectionState::Closing && buffered() == 0) flushedForClose();
}

void ConnectionImpl::flushedForClose() {
  if (lingering_) return;  // already waiting for the peer to close
  if (!linger_) {
    startClose();
    return;
  }
  // The peer may still be sending (a message over the limit, frames behind a bad one).
  // Closing now with its data unread would make the kernel answer with a reset, and the
  // peer would likely lose the Close frame or HTTP error it has not read yet. Instead send
  // FIN and discard input until the peer closes or the close deadline passes.
  auto* req = new uv_shutdown_t;
  req->data = this;
  if (uv_shutdown(req, &h_.stream, &ConnectionImpl::onShutdown) != 0) {
    delete req;
    startClose();
    return;
  }
  lingering_ = true;
  runtime_->watchClosing(*this);
}

void ConnectionImpl::onShutdown(uv_shutdown_t* req, int status) {
  auto* c = static_cast<ConnectionImpl*>(req->data);
  delete req;
  // UV_ECANCELED: the handle is being closed (destroy(), the close deadline); nothing to do.
  if (status == UV_ECANCELED || c->state_ == ConnectionState::Closed) return;
  int rc = status < 0
               ? status
               : uv_read_start(&c->h_.stream, &ConnectionImpl::onAlloc, &ConnectionImpl::onRead);
  if (rc != 0) c->startClose();
}

std::size_t ConnectionImpl::buffered() const {
  return out_.size() + (writing_ ? pending_->data.size() - pending_->offset : 0);
}

bool ConnectionImpl::queueClose(std::uint16_t code, std::string_view reason) {
  if (close_sent_ || !codec_->isOpen()) return false;
  // A no-op for stateless codecs; a WebSocket Close frame otherwise.
  const std::size_t before = out_.size();
  codec_->encodeControl(DecodeResult::Status::Close, code, asBytes(reason), out_);
  close_sent_ = out_.size() != before;
  // Keep a linger asked for earlier (a TLS alert, an HTTP error) on stateless protocols too.
  linger_ = linger_ || close_sent_;
  return close_sent_;
}

void ConnectionImpl::close(std::uint16_t code, std::string_view reason) {
  if (state_ != ConnectionState::Established) return;
  queueClose(code, reason);
  close({});
}

void ConnectionImpl::ping() {
  if (state_ != ConnectionState::Established || ping_sent_ || close_sent_ || !codec_->isOpen()) {
    return;
  }
  // A peer whose queue is full is not reading: no ping, and with no input it is closed
  // after a second quiet interval like any silent peer.
  if (buffered() >= face().maxSendBuffer) return;
  ping_sent_ = true;
  codec_->encodeControl(DecodeResult::Status::Ping, 0, {}, out_);
  scheduleFlush();
}

void ConnectionImpl::close(std::string_view data) {
  if (state_ != ConnectionState::Established) return;
  if (!data.empty()) queue(data, reply_kind_, false);
  if (state_ != ConnectionState::Established) return;  // a callback of queue() closed it
  queueClose(1000, {});                                // normal closure
  state_ = ConnectionState::Closing;
  if (outbound_) outbound_->linkClosing(*this);
  closing_since_ = runtime_->loop().now();
  partial_since_ = 0;
  uv_read_stop(&h_.stream);
  log().debug("conn={} closing, {} bytes to flush", id_, buffered());
  if (buffered() == 0 && !tls_) {
    flushedForClose();
  } else {
    runtime_->watchClosing(*this);
    scheduleFlush();
  }
}

void ConnectionImpl::abort(std::uint16_t code, std::string_view reason) {
  if (state_ == ConnectionState::Closed) return;
  // Whatever is queued goes out before the Close frame, so it is never sent out of order.
  if (state_ == ConnectionState::Established && !writing_ && queueClose(code, reason)) {
    std::string wire;
    if (tls_) {
      tls_->write(out_);
      tls_->shutdown();
      tls_->takeOutput(wire);
    } else {
      wire.swap(out_);
    }
    uv_buf_t buf = uv_buf_init(wire.data(), static_cast<unsigned>(wire.size()));
    int n = uv_try_write(&h_.stream, &buf, 1);
    if (n > 0) countWritten(static_cast<std::uint64_t>(n));
  }
  destroy();
}

void ConnectionImpl::destroy() {
  if (state_ == ConnectionState::Closed) return;
  startClose();
}

void ConnectionImpl::startClose() {
  state_ = ConnectionState::Closed;
  if (flush_scheduled_) {
    runtime_->loop().cancelFlush(this);
    flush_scheduled_ = false;
  }
  if (continue_scheduled_) {
    runtime_->loop().cancelContinue(this);
    continue_scheduled_ = false;
  }
  partial_since_ = 0;
  uv_close(&h_.handle, &ConnectionImpl::onClosed);
}

void ConnectionImpl::onClosed(uv_handle_t* h) {
  auto* c = static_cast<ConnectionImpl*>(h->data);
  // The application hears of a connection's close only if it heard of its opening.
  if (c->handshaking_) {
    c->handshaking_ = false;
    c->silent_ = true;
    c->runtime_->handshakeEnded(*c);
  }
  log().debug("conn={} closed", c->id_);
  c->runtime_->forget(*c);
  if (c->outbound_) {
    // The owner tells the application (onClose, or onError for a link that never opened)
    // and may connect again; this link is gone either way.
    c->outbound_->linkClosed(*c, !c->silent_);
  } else if (!c->silent_) {
    dispatch(
        c->id_, "onClose", c->worker_->onClose, [] {}, *c);
    BusRouter::get().connectionClosed(*c->runtime_, c->id_);
  }
  delete c;
}

void ConnectionImpl::failed(const char* what, int status) {
  log().debug("conn={} {} failed: {}; closing", id_, what, uv_strerror(status));
  linkFailure(std::string(what) + " failed: " + uv_strerror(status));
  destroy();
}

void ConnectionImpl::linkFailure(std::string_view why) {
  if (outbound_ && silent_) outbound_->noteFailure(why);
}

}  // namespace wman::detail
