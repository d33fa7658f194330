// The parts of a connection only session protocols (WebSocket, later HTTP upgrade) use:
// answering the handshake after asking the application, control frames, the close
// handshake.
#include <algorithm>

#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/log.h"
#include "detail/worker_runtime.h"
#include "wman/worker.h"

namespace wman::detail {
namespace {

bool originAllowed(const Worker& w, std::string_view origin) {
  const auto& allowed = w.websocket.allowed_origins;
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

}  // namespace

void ConnectionImpl::sessionEvent(const DecodeResult& r) {
  using Status = DecodeResult::Status;
  switch (r.status) {
    case Status::Handshake: {
      if (outbound_) {
        // The client role: a valid 101 opened the session; there is nothing to answer.
        log().debug("conn={} handshake done", id_);
        opened();
        break;
      }
      const HandshakeRequest* request = codec_->handshakeRequest();
      HandshakeAnswer answer;
      if (request && !originAllowed(*worker_, request->header("Origin"))) {
        answer.status = 403;
        answer.reason = "origin not allowed";
      } else if (request) {
        dispatch(
            id_, "onWebSocketConnect", worker_->onWebSocketConnect,
            [&answer] {
              answer.status = 500;
              answer.reason = "internal error";
            },
            *this, *request, answer);
      }
      bool open = codec_->answerHandshake(answer, out());
      scheduleFlush();
      if (open) {
        log().debug("conn={} handshake done", id_);
        opened();
      } else {
        runtime().stats().protocol_errors++;
        runtime().peerLog(PeerCause::HandshakeRefused, spdlog::level::info, *this,
                          "handshake refused with {}: {}", answer.status, answer.reason);
        closeAfterFlush(/*linger=*/true);
      }
      break;
    }
    case Status::Ping:
      // Every Ping gets its Pong (RFC 6455 5.5.3 would allow answering only the latest of
      // a burst, but clients and conformance suites expect one each); the Pong counts
      // against max_send_buffer, so a peer that pings without reading is closed instead.
      if (!controlFits("pong")) break;
      codec_->encodeControl(Status::Pong, 0, r.payload, out());
      scheduleFlush();
      dispatch(
          id_, "onWebSocketPing", events().onWebSocketPing,
          [this] { runtime().callbackFailed(*this); }, face(),
          Message(r.payload, MessageKind::Binary));
      break;
    case Status::Pong:
      dispatch(
          id_, "onWebSocketPong", events().onWebSocketPong,
          [this] { runtime().callbackFailed(*this); }, face(),
          Message(r.payload, MessageKind::Binary));
      break;
    case Status::Close:
      dispatch(
          id_, "onWebSocketClose", events().onWebSocketClose, [] {}, face(),
          static_cast<int>(r.code), asString(r.payload));
      if (!has(kCloseSent)) {
        // Echo the peer's code (RFC 6455 5.5.1); 1005 "no status" answers with none.
        set(kCloseSent);
        codec_->encodeControl(Status::Close, r.code, {}, out());
      }
      close({});
      break;
    default:
      break;
  }
}

}  // namespace wman::detail
