#include "websocket/websocket_client_codec.h"

#include <algorithm>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>

#include "websocket/websocket_client_handshake.h"
#include "websocket/websocket_handshake.h"

namespace wman {
namespace {

WebSocketClientOptions checked(WebSocketClientOptions options) {
  const std::string_view error = ws::checkClientOptions(options);
  if (!error.empty()) throw std::invalid_argument("websocket client: " + std::string(error));
  return options;
}

// The largest limit the session's size arithmetic can take without overflowing.
std::size_t messageLimit(std::size_t max_package_size) {
  return std::min(max_package_size, std::numeric_limits<std::size_t>::max() / 2);
}

}  // namespace

WebSocketClientCodec::WebSocketClientCodec(const CodecLimits& limits,
                                           WebSocketClientOptions options)
    : options_(checked(std::move(options))),
      session_(ws::Role::Client, messageLimit(limits.max_package_size), &options_.random) {}

WebSocketClientCodec::~WebSocketClientCodec() = default;

DecodeResult WebSocketClientCodec::fail(std::uint16_t code, std::string_view reason) {
  phase_ = Phase::Failed;
  failure_code_ = code;
  failure_reason_ = reason;
  response_parser_.reset();
  return DecodeResult::error(code, reason);
}

void WebSocketClientCodec::encodeOpening(std::string& out) {
  if (phase_ != Phase::Created) return;
  const std::string key = ws::makeClientKey(options_.random);
  expected_accept_ = ws::acceptKey(key);
  ws::appendClientRequest(options_, key, out);
  response_parser_ = std::make_unique<HttpRequestParser>(options_.max_header_size,
                                                         HttpRequestParser::Kind::Response);
  phase_ = Phase::AwaitingResponse;
}

DecodeResult WebSocketClientCodec::decode(ByteSpan input) {
  try {
    switch (phase_) {
      case Phase::Created:
        if (input.empty()) return DecodeResult::needMore();
        return fail(ws::close_code::kProtocolError, "handshake: data before the request");
      case Phase::AwaitingResponse:
        return decodeResponse(input);
      case Phase::Open:
        return decodeFrame(input);
      case Phase::PeerClosed:
        return DecodeResult::needMore(input.size());
      case Phase::Failed:
        break;
    }
  } catch (const std::bad_alloc&) {
    return fail(ws::close_code::kInternalError, "out of memory");
  }
  return DecodeResult::error(failure_code_, failure_reason_);
}

DecodeResult WebSocketClientCodec::decodeResponse(ByteSpan input) {
  const HttpRequestParser::Result r = response_parser_->feed(input);
  using S = HttpRequestParser::Result::Status;
  if (r.status == S::NeedMore) return DecodeResult::needMore(r.consumed);
  if (r.status == S::Error) {
    return fail(ws::close_code::kProtocolError, r.http_status == 431
                                                    ? "handshake: response header too large"
                                                    : "handshake: malformed HTTP response");
  }
  const ws::ResponseCheck check = ws::checkClientResponse(
      response_parser_->request(), response_parser_->statusCode(), expected_accept_, options_);
  if (!check.error.empty()) return fail(check.code, check.error);

  subprotocol_ = std::string(check.subprotocol);
  if (check.deflate) session_.enableDeflate(*check.deflate, options_.deflate);
  // The handshake state is not needed any more; an open connection should not keep it.
  response_parser_.reset();
  std::string().swap(expected_accept_);
  phase_ = Phase::Open;
  open_ = true;
  DecodeResult result = DecodeResult::needMore(r.consumed);
  result.status = DecodeResult::Status::Handshake;
  return result;
}

DecodeResult WebSocketClientCodec::decodeFrame(ByteSpan input) {
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

void WebSocketClientCodec::encode(ByteSpan payload, MessageKind kind, std::string& out) {
  if (open_) session_.encode(payload, kind, out);
}

void WebSocketClientCodec::encodeControl(DecodeResult::Status kind, std::uint16_t code,
                                         ByteSpan payload, std::string& out) {
  if (open_) session_.encodeControl(kind, code, payload, out);
}

void WebSocketClientCodec::encodeError(std::uint16_t code, std::string_view reason,
                                       std::string& out) {
  if (open_) session_.encodeControl(DecodeResult::Status::Close, code, asBytes(reason), out);
}

CodecFactory webSocketClientCodecFactory(WebSocketClientOptions options) {
  return
      [options = checked(std::move(options))](const CodecLimits& limits) -> std::unique_ptr<Codec> {
        return std::make_unique<WebSocketClientCodec>(limits, options);
      };
}

}  // namespace wman
