// WebSocketCodec: construction and the handshake phase. The open phase (frame decoder and
// encoders) is ws::FrameSession, in frame_session.cpp, shared with the client role.
#include "websocket/websocket_codec.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <new>
#include <utility>

#include "websocket/websocket_handshake.h"

namespace wman {

namespace {

// The largest limit the size arithmetic can take without overflowing `limit + 1`.
std::size_t messageLimit(std::size_t max_package_size) {
  return std::min(max_package_size, std::numeric_limits<std::size_t>::max() / 2);
}

}  // namespace

struct WebSocketCodec::SharedOptions::Block {
  WebSocketOptions options;
  // Codecs of one listener may be made and dropped on several threads.
  std::atomic<std::uint32_t> users{1};
};

WebSocketCodec::SharedOptions::SharedOptions(const WebSocketOptions& options)
    : block_(new Block{options}) {}

WebSocketCodec::SharedOptions::SharedOptions(const SharedOptions& other) noexcept
    : block_(other.block_) {
  block_->users.fetch_add(1, std::memory_order_relaxed);
}

WebSocketCodec::SharedOptions::~SharedOptions() {
  if (block_->users.fetch_sub(1, std::memory_order_acq_rel) == 1) delete block_;
}

const WebSocketOptions* WebSocketCodec::SharedOptions::operator->() const noexcept {
  return &block_->options;
}

WebSocketCodec::WebSocketCodec(const CodecLimits& limits, const WebSocketOptions& options)
    : WebSocketCodec(limits, SharedOptions(options)) {}

WebSocketCodec::WebSocketCodec(const CodecLimits& limits, const SharedOptions& options)
    : options_(options),
      request_parser_(std::make_unique<HttpRequestParser>(options_->max_header_size)),
      session_(ws::Role::Server, messageLimit(limits.max_package_size)) {}

WebSocketCodec::~WebSocketCodec() = default;

DecodeResult WebSocketCodec::fail(std::uint16_t code, std::string_view reason) {
  phase_ = Phase::Failed;
  failure_code_ = code;
  // Reasons are short static strings; one past 64 KiB would only be cut.
  failure_reason_ = reason.data();
  failure_reason_size_ = static_cast<std::uint16_t>(std::min<std::size_t>(reason.size(), 0xffff));
  return DecodeResult::error(code, reason);
}

DecodeResult WebSocketCodec::decode(ByteSpan input) {
  try {
    if (phase_ == Phase::Open) [[likely]]
      return decodeFrame(input);
    switch (phase_) {
      case Phase::Request:
        return decodeRequest(input);
      case Phase::AwaitingAnswer:
        return DecodeResult::needMore();
      case Phase::Open:
        return decodeFrame(input);
      case Phase::PeerClosed:
        return DecodeResult::needMore(input.size());
      case Phase::Rejected:
        return DecodeResult::needMore(input.size());
      case Phase::Failed:
        break;
    }
  } catch (const std::bad_alloc&) {
    return fail(ws::close_code::kInternalError, "out of memory");
  }
  return DecodeResult::error(failure_code_, {failure_reason_, failure_reason_size_});
}

DecodeResult WebSocketCodec::decodeFrame(ByteSpan input) {
  // One result returned on every path, so it is built in the caller's storage: copying it
  // read it back right after the session's narrower stores (a store-forwarding stall on
  // every message).
  DecodeResult r = session_.decode(input);
  if (r.status == DecodeResult::Status::Error) {
    fail(r.code, r.reason);  // keeps the failure; r is that same error
  } else if (r.status == DecodeResult::Status::Close) {
    phase_ = Phase::PeerClosed;
  }
  return r;
}

DecodeResult WebSocketCodec::decodeRequest(ByteSpan input) {
  const HttpRequestParser::Result r = request_parser_->feed(input);
  using S = HttpRequestParser::Result::Status;
  if (r.status == S::NeedMore) return DecodeResult::needMore(r.consumed);
  if (r.status == S::Error) {
    return fail(static_cast<std::uint16_t>(r.http_status), r.reason);
  }
  const ws::UpgradeCheck check = ws::validateUpgrade(
      request_parser_->request(), request_parser_->httpMajor(), request_parser_->httpMinor());
  if (check.status != 0) return fail(static_cast<std::uint16_t>(check.status), check.reason);
  phase_ = Phase::AwaitingAnswer;
  DecodeResult result = DecodeResult::needMore(r.consumed);
  result.status = DecodeResult::Status::Handshake;
  return result;
}

const HandshakeRequest* WebSocketCodec::handshakeRequest() const {
  return phase_ == Phase::AwaitingAnswer ? &request_parser_->request() : nullptr;
}

bool WebSocketCodec::openDeflate(const HandshakeRequest& request) {
  if (!options_->permessage_deflate) return false;
  const std::vector<std::string_view> offers =
      ws::headerValues(request, "Sec-WebSocket-Extensions");
  std::optional<ws::DeflateParams> params = ws::negotiateDeflate(offers, options_->deflate);
  if (!params) return false;
  session_.enableDeflate(*params, options_->deflate);
  return true;
}

bool WebSocketCodec::answerHandshake(const HandshakeAnswer& answer, std::string& out) {
  if (phase_ != Phase::AwaitingAnswer) return false;
  const HandshakeRequest& request = request_parser_->request();
  if (answer.status != 101) {
    ws::appendHttpError(answer.status, answer.reason, answer.headers, out);
    phase_ = Phase::Rejected;
    request_parser_.reset();
    return false;
  }

  out.append(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  out.append(ws::acceptKey(request.header("Sec-WebSocket-Key"))).append("\r\n");
  // RFC 6455 4.2.2: the server selects one of the protocols the client listed, or none;
  // naming one it did not offer would make the client fail the connection.
  if (!answer.subprotocol.empty() &&
      ws::headerListHas(request, "Sec-WebSocket-Protocol", answer.subprotocol, true)) {
    ws::appendHeaderLine("Sec-WebSocket-Protocol", answer.subprotocol, out);
  }
  if (openDeflate(request)) {
    ws::appendHeaderLine("Sec-WebSocket-Extensions", session_.deflateParams()->responseHeader(),
                         out);
  }
  for (const auto& [name, value] : answer.headers) ws::appendHeaderLine(name, value, out);
  out.append("\r\n");

  phase_ = Phase::Open;
  open_ = true;
  request_parser_.reset();
  return true;
}

bool WebSocketCodec::encodeHead(ByteSpan payload, MessageKind kind, std::string& head,
                                std::string_view& tail) {
  tail = {};
  return session_.encodeHead(payload, kind, head);
}

void WebSocketCodec::encode(ByteSpan payload, MessageKind kind, std::string& out) {
  session_.encode(payload, kind, out);
}

void WebSocketCodec::encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                                   std::string& out) {
  session_.encodeControl(kind, code, payload, out);
}

void WebSocketCodec::encodeError(std::uint16_t code, std::string_view reason, std::string& out) {
  if (open_) {
    encodeControl(DecodeResult::Status::Close, code, asBytes(reason), out);
    return;
  }
  ws::appendHttpError(code >= 400 && code <= 599 ? code : 400, reason, {}, out);
}

CodecFactory webSocketCodecFactory(const WebSocketOptions& options) {
  WebSocketCodec::SharedOptions shared(options);
  return [shared](const CodecLimits& limits) -> std::unique_ptr<Codec> {
    return std::make_unique<WebSocketCodec>(limits, shared);
  };
}

}  // namespace wman
