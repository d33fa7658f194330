// The "http" protocol: an HTTP/1.1 server session as a codec. Requests are decoded one at a
// time (HttpRequestDecoder) and answered in order through RequestSession; a request for one
// of the configured WebSocket paths hands the connection to a WebSocket codec, which from
// then on serves every Codec call.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/http_request_decoder.h"
#include "http/http_response_encoder.h"
#include "wman/codec.h"
#include "wman/protocol_registry.h"
#include "wman/request_session.h"

namespace wman {

// Per-listener settings, shared by every codec of the listener.
struct HttpServerOptions {
  HttpDecoderOptions decoder;
  // Paths ("/chat", compared with the request's path, query excluded) whose upgrade
  // requests become WebSocket sessions of `websocket` codecs.
  std::vector<std::string> websocket_paths;
  CodecFactory websocket;
  CodecLimits websocket_limits;
};

class HttpServerCodec final : public Codec, public RequestSession {
 public:
  explicit HttpServerCodec(std::shared_ptr<const HttpServerOptions> options);
  ~HttpServerCodec() override;

  // Requests (Status::Request / Body / Error with code = the HTTP status) until an upgrade;
  // then whatever the WebSocket codec reports, from its Handshake on.
  DecodeResult decode(ByteSpan input) override;
  // Messages exist only on the WebSocket sessions of an upgraded connection. A codec that
  // has not upgraded writes a message as a fresh session of its WebSocket paths would
  // (nothing without one): the runtime encodes a message to many connections once, with a
  // codec of the worker's protocol, and sends those bytes to each open session. (It never
  // sends messages to a connection that is not open.)
  void encode(ByteSpan payload, MessageKind kind, std::string& out) override;
  bool encodeHead(ByteSpan payload, MessageKind kind, std::string& head,
                  std::string_view& tail) override;
  MessageKind defaultKind() const override;
  bool inMessage() const override;
  // An HTTP connection is never "open" in the message sense: the application hears of it
  // (onConnect) only once a WebSocket upgrade opens it.
  bool isOpen() const override;
  const HandshakeRequest* handshakeRequest() const override;
  bool answerHandshake(const HandshakeAnswer& answer, std::string& out) override;
  void encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                     std::string& out) override;
  // Before an upgrade: the error response for HTTP status `code` (other codes give 400).
  void encodeError(std::uint16_t code, std::string_view reason, std::string& out) override;
  bool pings() const override;
  RequestSession* requests() override { return upgraded_ ? nullptr : this; }

  // RequestSession
  Wait wait() const override;
  HttpRequest& request() override;
  bool requestComplete() const override { return request_done_; }
  bool bodyStreamed() const override { return streamed_; }
  void encodeContinue(std::string& out) override;
  std::uint64_t requestNumber() const override { return number_; }
  HttpResponseHead& responseHead() override { return head_; }
  bool responseStarted() const override { return encoder_.has_value(); }
  bool answering() const override { return answering_; }
  void respond(std::string_view body, std::string_view date, std::string& out) override;
  void respondHead(std::int64_t content_length, std::string_view date, std::string& out) override;
  bool respondBody(std::string_view data, std::string& out) override;
  bool respondBodySent(std::uint64_t bytes) override {
    return encoder_ && encoder_->countBody(bytes);
  }
  void respondEnd(std::string& out) override;
  bool sendsBody() const override { return encoder_ && encoder_->sendsBody(); }
  bool keepAlive() const override { return keep_alive_; }
  void closeAfterResponse() override { close_after_ = true; }
  void encodeFailure(int status, std::string_view message, std::string_view date,
                     std::string& out) override;

 private:
  // A complete head at the front of `input` for a WebSocket path: hands it to a new
  // WebSocket codec. Returns nullopt when the request is plain HTTP.
  std::optional<DecodeResult> tryUpgrade(ByteSpan input);
  bool isWebSocketPath(std::string_view path) const;
  // The codec messages are written with: the upgraded session's, else a template of the
  // sessions this connection would upgrade to (made on first use), else nullptr.
  Codec* sessionCodec() const;
  DecodeResult decodeRequest(ByteSpan input);
  void startResponse();
  void finishResponse();

  std::shared_ptr<const HttpServerOptions> options_;
  std::unique_ptr<HttpRequestDecoder> decoder_;
  std::unique_ptr<Codec> upgraded_;
  mutable std::unique_ptr<Codec> session_template_;
  std::optional<HttpResponseEncoder> encoder_;  // the response being sent
  HttpResponseHead head_;
  std::uint64_t number_ = 0;
  bool answering_ = false;     // a request was reported and its response has not ended
  bool request_done_ = false;  // the reported request is complete (its body included)
  bool streamed_ = false;
  bool continue_sent_ = false;
  bool holding_head_ = false;  // input held until a whole head is there (WebSocket paths)
  bool keep_alive_ = true;
  bool close_after_ = false;
};

// A registry factory for http codecs sharing `options`.
CodecFactory httpCodecFactory(std::shared_ptr<const HttpServerOptions> options);

}  // namespace wman
