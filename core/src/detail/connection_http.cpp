// The parts of a connection only request/response protocols (http) use: handing requests to
// the application, writing its responses, the clocks of what the session waits for, and
// file bodies sent with sendfile().
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "detail/buffer_pool.h"
#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/worker_runtime.h"
#include "wman/http_server.h"
#include "wman/worker.h"

namespace wman::detail {
namespace {

// Pipelined input held while a response is owed; past it, reading stops until the response
// ends, so a client cannot queue unbounded requests behind a slow one.
constexpr std::size_t kPipelineHold = 64 * 1024;
// A file body read into the send queue (TLS, or a socket that is full) goes in pieces of
// this size, each after the previous one drained.
constexpr std::size_t kFilePiece = 64 * 1024;
// Most bytes one sendfile() call is asked for, so one large file does not hold the loop.
constexpr std::size_t kSendfileMax = 1024 * 1024;

}  // namespace

void ConnectionImpl::requestEvent(const DecodeResult& r) {
  RequestSession* s = requests();
  if (!s) return;
  Response res(&runtime(), id_, s->requestNumber());
  auto failed = [this] {
    runtime().stats().callback_errors++;
    requestFailed();
  };
  if (r.status == DecodeResult::Status::Body) {
    dispatch(id_, "onRequestBody", worker_->onRequestBody, failed, res, asString(r.payload),
             r.code == 1);
    noteRequestWait();
    return;
  }
  if (!s->requestComplete()) {
    // The client waits for the go-ahead before it sends the body.
    std::string& wire = out();
    const std::size_t before = wire.size();
    s->encodeContinue(wire);
    if (wire.size() != before) scheduleFlush();
    if (!s->bodyStreamed()) return noteRequestWait();
  }
  runtime().stats().messages++;
  runtime().serveRequest(*this, s->request(), res, failed);
  noteRequestWait();
}

SendStatus ConnectionImpl::respond(const std::function<void(RequestSession&, std::string&)>& step) {
  RequestSession* s = requests();
  if (state_ != ConnectionState::Established || !s || !s->answering()) {
    return SendStatus::NotConnected;
  }
  if (has(kBufferFull) || buffered() >= face().maxSendBuffer) {
    runtime().stats().send_fail++;
    dispatch(
        id_, "onError", events().onError, [] {}, face(), error_code::kSendFail,
        std::string_view("send buffer full, response data dropped"));
    return SendStatus::Dropped;
  }
  const SendStatus status = writing() ? SendStatus::Buffered : SendStatus::Ok;
  const bool started = s->responseStarted();
  const int code = s->responseHead().status;
  step(*s, out());
  // Counted once, when the head goes out.
  if (!started && (s->responseStarted() || !s->answering())) runtime().countResponse(code);
  scheduleFlush();
  if (!s->answering()) {
    responseEnded(*s);
  } else {
    noteQueued();
  }
  return status;
}

void ConnectionImpl::responseEnded(RequestSession& s) {
  if (!s.keepAlive()) {
    // Connection: close (asked by the client or the application, HTTP/1.0, or a stop):
    // linger so that the peer reads the whole response before the connection goes.
    closeAfterFlush(/*linger=*/true);
    return;
  }
  // Pipelined requests held back are answered from the next loop pass (not from inside
  // the application's end() call, which may itself be inside onRequest).
  if (has(kAwaitingResponse) || holdsInput()) {
    clear(kAwaitingResponse);
    scheduleContinue();
  }
  if (runtime().stopping() && s.wait() == RequestSession::Wait::Idle && !holdsInput()) {
    close({});
    return;
  }
  // Whatever comes next (idle, or the next pipelined request) starts a fresh clock, even
  // if the connection was idle before this request too.
  request_wait_ = kNoWait;
  noteRequestWait();
}

void ConnectionImpl::noteRequestWait() {
  RequestSession* s = requests();
  if (!s || state_ != ConnectionState::Established) return;
  const RequestSession::Wait now_waiting = s->wait();
  // Pipelined requests wait unread behind a response that is owed; past a bound, reading
  // stops until it ends, so a client cannot queue requests without limit.
  if (now_waiting == RequestSession::Wait::Response && inputHeld() >= kPipelineHold &&
      !has(kAwaitingResponse)) {
    set(kAwaitingResponse);
    readStop();
  }
  const auto wait = static_cast<std::uint8_t>(now_waiting);
  if (wait == request_wait_ && since_ != 0) return;
  request_wait_ = wait;
  since_ = std::max<std::uint64_t>(runtime().loop().now(), 1);
  runtime().trackDeadlines(*this);
}

void ConnectionImpl::requestTimedOut(RequestSession::Wait wait, std::uint64_t timeout_ms) {
  RequestSession* s = requests();
  if (state_ != ConnectionState::Established || !s) return;
  if (wait == RequestSession::Wait::Idle) {
    log().debug("conn={} keep-alive idle for {} ms; closing", id_, timeout_ms);
    close({});
    return;
  }
  runtime().stats().protocol_errors++;
  runtime().peerLog(PeerCause::Timeout, spdlog::level::info, *this,
                    "request {} not complete after {} ms; answered 408",
                    wait == RequestSession::Wait::Head ? "head" : "body", timeout_ms);
  answerFailure(*s, 408, "request timeout\n");
}

void ConnectionImpl::requestFailed() {
  RequestSession* s = requests();
  if (state_ != ConnectionState::Established || !s) return;
  answerFailure(*s, 500, "internal error\n");
}

void ConnectionImpl::answerFailure(RequestSession& s, std::uint16_t status, const char* body) {
  // Nothing is sent when part of the response is out already: the close says it all.
  std::string& wire = out();
  const std::size_t before = wire.size();
  s.encodeFailure(status, body, runtime().httpDate(), wire);
  if (wire.size() != before) runtime().countResponse(status);
  closeAfterFlush(/*linger=*/true);
}

void ConnectionImpl::finishRequests() {
  RequestSession* s = requests();
  if (!s || state_ != ConnectionState::Established) return;
  // The request in progress, or the next one, is answered with Connection: close. Closing
  // an idle connection at once would race with a request the client is sending on it
  // right now, which it would then see fail: an idle connection gets a short grace instead
  // (WorkerRuntime::requestTimeout while stopping), from now.
  s->closeAfterResponse();
  request_wait_ = kNoWait;
  noteRequestWait();
}

void ConnectionImpl::sendFileBody(UniqueFd fd, std::uint64_t offset, std::uint64_t length) {
  runtime().fileBody(*this) = WorkerRuntime::FileBody{std::move(fd), offset, length};
  set(kSendingFile);
  pumpFile();
}

void ConnectionImpl::pumpFile() {
  RequestSession* s = requests();
  WorkerRuntime::FileBody* body = runtime().findFileBody(id_);
  if (!body || !s || state_ != ConnectionState::Established) return;
  while (body->remaining > 0 && buffered() == 0) {
    // sendfile() only where the bytes cross as they are (not through TLS).
    if (transport_->passesThrough() && !writing() && !isPipe()) {
      const int sock = fd();
      off_t off = static_cast<off_t>(body->offset);
      const auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(body->remaining, kSendfileMax));
      const ssize_t n = ::sendfile(sock, body->fd.get(), &off, want);
      if (n > 0) {
        countWritten(static_cast<std::uint64_t>(n));
        s->respondBodySent(static_cast<std::uint64_t>(n));
        body->offset += static_cast<std::uint64_t>(n);
        body->remaining -= static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        log().debug("conn={} sendfile failed: {}", id_, std::strerror(errno));
        runtime().dropFileBody(id_);
        return destroy();
      }
      if (n == 0) body->remaining = 0;  // the file shrank: the response cannot be completed
      if (n == 0) break;
    }
    // The socket is full (or TLS): one piece through the send queue, whose drain calls
    // back here (afterWrite).
    const auto piece =
        static_cast<std::size_t>(std::min<std::uint64_t>(body->remaining, kFilePiece));
    std::string data(piece, '\0');
    const ssize_t got =
        ::pread(body->fd.get(), data.data(), piece, static_cast<off_t>(body->offset));
    if (got <= 0) {
      body->remaining = 0;  // read error or a shrunken file: cut short, the connection ends
      break;
    }
    data.resize(static_cast<std::size_t>(got));
    body->offset += static_cast<std::uint64_t>(got);
    body->remaining -= static_cast<std::uint64_t>(got);
    s->respondBody(data, out());
    scheduleFlush();
    if (body->remaining > 0) return;  // afterWrite() calls back once it drained
  }
  if (body->remaining > 0) return;
  runtime().dropFileBody(id_);
  clear(kSendingFile);
  respond([](RequestSession& session, std::string& out) { session.respondEnd(out); });
}

}  // namespace wman::detail
