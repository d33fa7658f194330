// WebSocketCodec: construction, the handshake phase and the encoders. The frame decoder of
// the open phase is in websocket_session.cpp.
#include "websocket/websocket_codec.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "websocket/websocket_handshake.h"

namespace wman {

namespace {

// The largest limit the size arithmetic can take without overflowing `limit + 1`.
std::size_t messageLimit(std::size_t max_package_size) {
  return std::min(max_package_size, std::numeric_limits<std::size_t>::max() / 2);
}

}  // namespace

WebSocketCodec::WebSocketCodec(const CodecLimits& limits, const WebSocketOptions& options)
    : max_message_(messageLimit(limits.max_package_size)),
      options_(options),
      request_parser_(std::make_unique<HttpRequestParser>(options.max_header_size)) {}

WebSocketCodec::~WebSocketCodec() = default;

DecodeResult WebSocketCodec::fail(std::uint16_t code, std::string_view reason) {
  phase_ = Phase::Failed;
  failure_code_ = code;
  failure_reason_ = reason;
  return DecodeResult::error(code, reason);
}

DecodeResult WebSocketCodec::decode(ByteSpan input) {
  try {
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
  return DecodeResult::error(failure_code_, failure_reason_);
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

void WebSocketCodec::openDeflate(const HandshakeRequest& request) {
  if (!options_.permessage_deflate) return;
  const std::vector<std::string_view> offers =
      ws::headerValues(request, "Sec-WebSocket-Extensions");
  if (std::optional<ws::DeflateParams> params = ws::negotiateDeflate(offers, options_.deflate)) {
    deflate_ = std::make_unique<ws::PerMessageDeflate>(*params, options_.deflate);
    rules_.rsv1_allowed = true;
  }
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
  openDeflate(request);
  if (deflate_)
    ws::appendHeaderLine("Sec-WebSocket-Extensions", deflate_->params().responseHeader(), out);
  for (const auto& [name, value] : answer.headers) ws::appendHeaderLine(name, value, out);
  out.append("\r\n");

  phase_ = Phase::Open;
  open_ = true;
  request_parser_.reset();
  return true;
}

void WebSocketCodec::encode(ByteSpan payload, MessageKind kind, std::string& out) {
  const std::uint8_t op = kind == MessageKind::Text ? ws::opcode::kText : ws::opcode::kBinary;
  if (!deflate_ || payload.size() < options_.deflate.min_compress_size) {
    ws::appendFrameHeader(out, true, false, op, payload.size());
    out.append(asString(payload));
    return;
  }
  // The header's size depends on the compressed size, so leave room for the largest header,
  // compress behind it, then close the gap: one memmove instead of a scratch buffer that
  // every connection would keep.
  const std::size_t start = out.size();
  out.append(ws::kMaxHeaderSize, '\0');
  deflate_->compress(payload, out);
  const std::size_t body = out.size() - start - ws::kMaxHeaderSize;
  char header[ws::kMaxHeaderSize];
  const std::size_t h = ws::writeFrameHeader(header, true, true, op, body);
  char* base = out.data() + start;
  std::memmove(base + h, base + ws::kMaxHeaderSize, body);
  std::memcpy(base, header, h);
  out.resize(start + h + body);
}

void WebSocketCodec::encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                                   std::string& out) {
  using S = DecodeResult::Status;
  if (kind == S::Ping || kind == S::Pong) {
    payload = payload.first(std::min(payload.size(), ws::kMaxControlPayload));
    ws::appendFrameHeader(out, true, false, kind == S::Ping ? ws::opcode::kPing : ws::opcode::kPong,
                          payload.size());
    out.append(asString(payload));
    return;
  }
  if (kind != S::Close) return;
  if (!ws::isValidCloseCode(code)) {
    // 1005 means "no status" and is expressed by an empty Close; the other unsendable
    // codes (1004, 1006, 1015, out of range) cannot be sent either, so the same applies.
    ws::appendFrameHeader(out, true, false, ws::opcode::kClose, 0);
    return;
  }
  std::string_view reason = asString(payload);
  if (reason.size() > ws::kMaxControlPayload - 2) {
    // Cut before a continuation byte so the peer does not see a broken character (1007).
    std::size_t n = ws::kMaxControlPayload - 2;
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
    reason = reason.substr(0, n);
  }
  ws::appendFrameHeader(out, true, false, ws::opcode::kClose, 2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xff));
  out.append(reason);
}

void WebSocketCodec::encodeError(std::uint16_t code, std::string_view reason, std::string& out) {
  if (open_) {
    encodeControl(DecodeResult::Status::Close, code, asBytes(reason), out);
    return;
  }
  ws::appendHttpError(code >= 400 && code <= 599 ? code : 400, reason, {}, out);
}

CodecFactory webSocketCodecFactory(const WebSocketOptions& options) {
  return [options](const CodecLimits& limits) -> std::unique_ptr<Codec> {
    return std::make_unique<WebSocketCodec>(limits, options);
  };
}

}  // namespace wman
