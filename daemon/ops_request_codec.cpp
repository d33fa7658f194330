#include "ops_request_codec.h"

#include <algorithm>

#include "wman/http.h"
#include "wman/http_head_reader.h"
#include "wman/protocol_registry.h"

namespace wman::daemon {
namespace {

class OpsRequestCodec final : public Codec {
 public:
  explicit OpsRequestCodec(std::size_t max_head) : reader_(max_head) {}

  DecodeResult decode(ByteSpan input) override {
    const HttpHeadResult r = reader_.feed(input);
    switch (r.status) {
      case HttpHeadResult::Status::NeedMore:
        partial_ = partial_ || r.consumed > 0;
        return DecodeResult::needMore(r.consumed);
      case HttpHeadResult::Status::Error:
        status_ = r.http_status;
        return DecodeResult::error(
            r.http_status == 431 ? codec_error::kTooLarge : codec_error::kMalformed, r.reason);
      case HttpHeadResult::Status::Done:
        break;
    }
    const HandshakeRequest& req = reader_.request();
    message_ = encodeOpsRequest(OpsRequest{std::string(req.method), std::string(req.path),
                                           std::string(req.header("authorization"))});
    reader_.reset();
    partial_ = false;
    return DecodeResult::message(r.consumed, asBytes(message_), MessageKind::Text);
  }

  void encode(ByteSpan payload, MessageKind, std::string& out) override {
    out.append(asString(payload));
  }

  MessageKind defaultKind() const override { return MessageKind::Text; }
  // A head begun and not finished: the runtime's message_timeout bounds how long it may take.
  bool inMessage() const override { return partial_; }

  void encodeError(std::uint16_t, std::string_view reason, std::string& out) override {
    const int status = status_ == 431 ? 431 : 400;
    out += opsResponse(status, "text/plain; charset=utf-8", std::string(reason) + "\n");
  }

 private:
  HttpHeadReader reader_;
  std::string message_;
  bool partial_ = false;
  int status_ = 0;
};

}  // namespace

std::string encodeOpsRequest(const OpsRequest& r) {
  return r.method + '\n' + r.path + '\n' + r.authorization;
}

OpsRequest decodeOpsRequest(std::string_view payload) {
  OpsRequest r;
  std::string* parts[] = {&r.method, &r.path, &r.authorization};
  for (std::size_t i = 0; i < 3; ++i) {
    const std::size_t nl = i < 2 ? payload.find('\n') : std::string_view::npos;
    parts[i]->assign(payload.substr(0, nl));
    payload = nl == std::string_view::npos ? std::string_view{} : payload.substr(nl + 1);
  }
  return r;
}

void registerOpsProtocol() {
  ProtocolRegistry::add(std::string(kOpsProtocol), [](const CodecLimits& limits) {
    return std::make_unique<OpsRequestCodec>(limits.max_package_size);
  });
}

std::string opsResponse(int status, std::string_view content_type, std::string_view body,
                        std::string_view extra) {
  const std::string_view phrase = httpReasonPhrase(status);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " +
                    std::string(phrase.empty() ? "Error" : phrase) +
                    "\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n";
  out += extra;
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace wman::daemon
