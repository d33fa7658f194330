// libFuzzer target for the websocket opening handshake. The first byte picks the read size
// (0 = everything at once) and, in its top bit, whether permessage-deflate is enabled; the rest
// is what the client sends. Checks: errors carry an HTTP status and produce a well-formed
// response, a Handshake's 101 answer is well-formed with the right accept key, and the
// outcome does not depend on how the bytes were split. The raw input is also run through the
// permessage-deflate negotiation, whose answer must negotiate to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/deflate_negotiation.h"
#include "websocket/websocket_codec.h"
#include "websocket/websocket_handshake.h"

#include "fuzz_check.h"

namespace {

using wman::asBytes;
using wman::DecodeResult;
using S = DecodeResult::Status;

struct Outcome {
  S status = S::NeedMore;
  std::uint16_t code = 0;
  std::string response;
  std::size_t head_size = 0;
  bool operator==(const Outcome&) const = default;
};

Outcome feed(std::string_view input, std::size_t read_size, bool deflate) {
  wman::WebSocketOptions options;
  options.permessage_deflate = deflate;
  options.max_header_size = 2048;
  wman::WebSocketCodec codec(wman::CodecLimits{}, options);
  Outcome o;
  std::string buffer;
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::size_t n = read_size == 0 ? input.size() - pos : read_size;
    buffer.append(input.substr(pos, n));
    pos += std::min(n, input.size() - pos);
    const DecodeResult r = codec.decode(asBytes(buffer));
    FUZZ_CHECK(r.consumed <= buffer.size());
    o.head_size += r.consumed;
    buffer.erase(0, r.consumed);
    if (r.status == S::NeedMore) {
      FUZZ_CHECK(buffer.empty());  // an incomplete head is stored by the codec
      FUZZ_CHECK(o.head_size < options.max_header_size);
      continue;
    }
    o.status = r.status;
    if (r.status == S::Error) {
      FUZZ_CHECK(r.code == 400 || r.code == 405 || r.code == 426 || r.code == 431);
      FUZZ_CHECK(!codec.isOpen());
      o.code = r.code;
      o.head_size = 0;  // how much was stored before the error depends on the split
      codec.encodeError(r.code, r.reason, o.response);
      checkHttpResponseHead(o.response, "HTTP/1.1 " + std::to_string(r.code) + " ");
      const std::string length = "Content-Length: " + std::to_string(r.reason.size()) + "\r\n";
      FUZZ_CHECK(o.response.find(length) != std::string::npos);
      FUZZ_CHECK(o.response.ends_with(r.reason));
      return o;
    }
    FUZZ_CHECK(r.status == S::Handshake);
    FUZZ_CHECK(o.head_size <= options.max_header_size);
    const wman::HandshakeRequest* request = codec.handshakeRequest();
    FUZZ_CHECK(request != nullptr);
    FUZZ_CHECK(request->method == "GET");
    const std::string accept = wman::ws::acceptKey(request->header("Sec-WebSocket-Key"));
    wman::HandshakeAnswer answer;
    answer.subprotocol = std::string(request->header("Sec-WebSocket-Protocol"));
    FUZZ_CHECK(codec.answerHandshake(answer, o.response));
    FUZZ_CHECK(codec.isOpen());
    checkHttpResponseHead(o.response, "HTTP/1.1 101 Switching Protocols\r\n");
    FUZZ_CHECK(o.response.find("\r\nSec-WebSocket-Accept: " + accept + "\r\n") !=
               std::string::npos);
    FUZZ_CHECK(o.response.ends_with("\r\n\r\n"));
    return o;
  }
  return o;
}

void checkNegotiation(std::string_view offer) {
  const std::vector<std::string_view> headers = {offer};
  const auto params = wman::ws::negotiateDeflate(headers, {});
  if (!params) return;
  FUZZ_CHECK(params->server_max_window_bits >= 8 && params->server_max_window_bits <= 15);
  FUZZ_CHECK(params->client_max_window_bits >= 8 && params->client_max_window_bits <= 15);
  const std::string answer = params->responseHeader();
  const std::vector<std::string_view> again = {answer};
  const auto echoed = wman::ws::negotiateDeflate(again, {});
  FUZZ_CHECK(echoed.has_value());
  FUZZ_CHECK(echoed->responseHeader() == answer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t read_size = data[0] & 0x7f;
  const bool deflate = (data[0] & 0x80) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome chunked = feed(input, read_size, deflate);
  FUZZ_CHECK(chunked == feed(input, 0, deflate));
  if (size < 512) checkNegotiation(input);
  return 0;
}
