#include "http/http_server_codec.h"

#include <algorithm>
#include <utility>

namespace wman {
namespace {

constexpr std::string_view kHeadEnd = "\r\n\r\n";

}  // namespace

HttpServerCodec::HttpServerCodec(std::shared_ptr<const HttpServerOptions> options)
    : options_(std::move(options)),
      decoder_(std::make_unique<HttpRequestDecoder>(options_->decoder)) {}

HttpServerCodec::~HttpServerCodec() = default;

bool HttpServerCodec::isWebSocketPath(std::string_view path) const {
  const auto& paths = options_->websocket_paths;
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

DecodeResult HttpServerCodec::decode(ByteSpan input) {
  if (upgraded_) return upgraded_->decode(input);
  // The connection ends after the response that was sent: whatever follows is not read.
  if (!keep_alive_) return DecodeResult::needMore(input.size());
  // Pipelined requests wait, unread, until the one being answered is done.
  if (answering_ && request_done_) return DecodeResult::needMore(0);
  holding_head_ = false;
  if (!options_->websocket_paths.empty() && decoder_->state() == HttpRequestDecoder::State::Idle &&
      !answering_) {
    // A WebSocket path's upgrade request goes to the WebSocket codec whole, so the decoder
    // is given a head only once all of it is there (or it is too large anyway: 431).
    const std::string_view text = asString(input);
    const std::size_t limit = options_->decoder.max_header_size + kHeadEnd.size();
    if (text.substr(0, limit).find(kHeadEnd) == std::string_view::npos && text.size() < limit) {
      holding_head_ = !input.empty();
      return DecodeResult::needMore(0);
    }
  }
  return decodeRequest(input);
}

DecodeResult HttpServerCodec::decodeRequest(ByteSpan input) {
  using S = HttpDecodeResult::Status;
  const bool fresh = decoder_->state() == HttpRequestDecoder::State::Idle;
  std::size_t offset = 0;
  for (;;) {
    const HttpDecodeResult r = decoder_->decode(input.subspan(offset));
    offset += r.consumed;
    switch (r.status) {
      case S::NeedMore:
        return DecodeResult::needMore(offset);
      case S::Error:
        keep_alive_ = false;
        answering_ = false;
        return DecodeResult::error(static_cast<std::uint16_t>(r.http_status), r.reason);
      case S::Head:
        startResponse();
        streamed_ = options_->decoder.stream_body;
        decoder_->streamBody(streamed_);
        // A buffered body is read on unless the client waits for the go-ahead.
        if (!streamed_ && !request().expect_continue) continue;
        return DecodeResult{DecodeResult::Status::Request, offset, {}, MessageKind::Binary, 0, {}};
      case S::Body: {
        // The decoder reports a body's end only when called again, which the caller would
        // do only with more input: ask now (with nothing, so `r.data` stays valid), and
        // mark this piece the last if the request is complete.
        // (An empty span that still points into the input: llhttp keeps the body span's
        // position across calls, and a null one would lose the next piece's start.)
        const HttpDecodeResult next = decoder_->decode(input.subspan(offset, 0));
        const bool last = next.status == S::Request;
        if (last) request_done_ = true;
        return DecodeResult{DecodeResult::Status::Body,
                            offset,
                            asBytes(r.data),
                            MessageKind::Binary,
                            static_cast<std::uint16_t>(last ? 1 : 0),
                            {}};
      }
      case S::Request:
        break;
    }
    const bool was_streamed = answering_ && streamed_;
    if (!answering_) startResponse();
    request_done_ = true;
    // The end of a streamed body: the request was reported at its head already.
    if (was_streamed) {
      return DecodeResult{DecodeResult::Status::Body, offset, {}, MessageKind::Binary, 1, {}};
    }
    if (request().upgrade) {
      if (fresh && isWebSocketPath(request().path) && request().content_length <= 0 &&
          !request().chunked) {
        auto ws = options_->websocket(options_->websocket_limits);
        DecodeResult hs = ws->decode(input.first(offset));
        if (hs.status == DecodeResult::Status::Handshake) hs.consumed = offset;
        upgraded_ = std::move(ws);
        decoder_.reset();
        answering_ = false;
        return hs;
      }
      // Another path, or an upgrade this server does not do: answered as plain HTTP.
      decoder_->continueAfterUpgrade();
    }
    return DecodeResult{DecodeResult::Status::Request, offset, {}, MessageKind::Binary, 0, {}};
  }
}

void HttpServerCodec::startResponse() {
  ++number_;
  answering_ = true;
  request_done_ = false;
  streamed_ = false;
  continue_sent_ = false;
  head_ = HttpResponseHead{};
}

HttpRequest& HttpServerCodec::request() {
  // The decoder hands out a read-only request; the application's edits to the views (see
  // RequestSession::request) never reach the parser, which keeps its own state.
  return const_cast<HttpRequest&>(decoder_->request());
}

RequestSession::Wait HttpServerCodec::wait() const {
  if (answering_ && request_done_) return Wait::Response;
  if (holding_head_) return Wait::Head;
  switch (decoder_->state()) {
    case HttpRequestDecoder::State::Head:
      return Wait::Head;
    case HttpRequestDecoder::State::Body:
      return Wait::Body;
    default:
      return Wait::Idle;
  }
}

void HttpServerCodec::encodeContinue(std::string& out) {
  if (continue_sent_ || !answering_ || encoder_ || !request().expect_continue) return;
  continue_sent_ = true;
  wman::encodeContinue(out);
}

void HttpServerCodec::respond(std::string_view body, std::string_view date, std::string& out) {
  if (!answering_ || encoder_) return;
  if (close_after_) head_.set("Connection", "close");
  encoder_.emplace(request());
  encoder_->encodeWhole(head_, body, date, out);
  finishResponse();
}

void HttpServerCodec::respondHead(std::int64_t content_length, std::string_view date,
                                  std::string& out) {
  if (!answering_ || encoder_) return;
  if (close_after_) head_.set("Connection", "close");
  encoder_.emplace(request());
  encoder_->encodeHead(head_, content_length, date, out);
}

bool HttpServerCodec::respondBody(std::string_view data, std::string& out) {
  return encoder_ && encoder_->encodeBody(data, out);
}

void HttpServerCodec::respondEnd(std::string& out) {
  if (!encoder_) return;
  encoder_->encodeEnd(out);
  finishResponse();
}

void HttpServerCodec::finishResponse() {
  // A response sent before its request's body was read leaves the rest of that body on the
  // wire, where it would be taken for the next request: the connection ends instead.
  keep_alive_ = encoder_->keepAlive() && !close_after_ && request_done_;
  encoder_.reset();
  answering_ = false;
  head_ = HttpResponseHead{};
}

void HttpServerCodec::encodeFailure(int status, std::string_view message, std::string_view date,
                                    std::string& out) {
  if (encoder_) return;
  encodeErrorResponse(status, message, date, out);
  keep_alive_ = false;
  answering_ = false;
}

Codec* HttpServerCodec::sessionCodec() const {
  if (upgraded_) return upgraded_.get();
  if (!session_template_ && options_->websocket) {
    session_template_ = options_->websocket(options_->websocket_limits);
  }
  return session_template_.get();
}

void HttpServerCodec::encode(ByteSpan payload, MessageKind kind, std::string& out) {
  if (Codec* session = sessionCodec()) session->encode(payload, kind, out);
}

bool HttpServerCodec::encodeHead(ByteSpan payload, MessageKind kind, std::string& head,
                                 std::string_view& tail) {
  Codec* session = sessionCodec();
  return session && session->encodeHead(payload, kind, head, tail);
}

MessageKind HttpServerCodec::defaultKind() const {
  const Codec* session = sessionCodec();
  return session ? session->defaultKind() : MessageKind::Text;
}

bool HttpServerCodec::inMessage() const {
  return upgraded_ && upgraded_->inMessage();
}

bool HttpServerCodec::isOpen() const {
  return upgraded_ && upgraded_->isOpen();
}

const HandshakeRequest* HttpServerCodec::handshakeRequest() const {
  return upgraded_ ? upgraded_->handshakeRequest() : nullptr;
}

bool HttpServerCodec::answerHandshake(const HandshakeAnswer& answer, std::string& out) {
  return upgraded_ && upgraded_->answerHandshake(answer, out);
}

void HttpServerCodec::encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                                    std::string& out) {
  if (upgraded_) upgraded_->encodeControl(kind, code, payload, out);
}

void HttpServerCodec::encodeError(std::uint16_t code, std::string_view reason, std::string& out) {
  if (upgraded_) return upgraded_->encodeError(code, reason, out);
  if (encoder_) return;  // a response is half sent: closing is all that is left
  encodeErrorResponse(code >= 400 && code <= 599 ? code : 400, reason, {}, out);
}

bool HttpServerCodec::pings() const {
  return upgraded_ && upgraded_->pings();
}

CodecFactory httpCodecFactory(std::shared_ptr<const HttpServerOptions> options) {
  return [options = std::move(options)](const CodecLimits&) -> std::unique_ptr<Codec> {
    return std::make_unique<HttpServerCodec>(options);
  };
}

}  // namespace wman
