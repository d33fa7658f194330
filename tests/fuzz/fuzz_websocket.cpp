// libFuzzer target for the websocket codec's open phase. A canned handshake opens the
// session first (with a permessage-deflate offer when flag bit 0 of the second byte is set);
// the first byte picks the read size (0 = everything at once), the second's upper bits the
// message limit; the rest is what the client sends. Every result is checked against the
// RFC 6455 rules, every message must survive a client-frame round trip, and the events must
// equal those of feeding the same bytes in one read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/frame_parser.h"
#include "websocket/utf8_validator.h"
#include "websocket/websocket_codec.h"

#include "fuzz_check.h"

namespace {

using wman::asBytes;
using wman::asString;
using wman::DecodeResult;
using S = DecodeResult::Status;

struct Event {
  S status = S::NeedMore;
  std::uint16_t code = 0;
  wman::MessageKind kind = wman::MessageKind::Binary;
  std::string payload;
  bool operator==(const Event&) const = default;
};

std::unique_ptr<wman::WebSocketCodec> openCodec(std::size_t max, bool deflate) {
  wman::WebSocketOptions options;
  options.permessage_deflate = deflate;
  auto codec = std::make_unique<wman::WebSocketCodec>(wman::CodecLimits{max}, options);
  std::string request =
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
  const DecodeResult r = codec->decode(asBytes(request));
  FUZZ_CHECK(r.status == S::Handshake && r.consumed == request.size());
  std::string response;
  FUZZ_CHECK(codec->answerHandshake(wman::HandshakeAnswer{}, response));
  FUZZ_CHECK((codec->deflateParams() != nullptr) == deflate);
  return codec;
}

// A decoded message, sent again by a client in one masked frame, must come out unchanged.
void checkRoundTrip(wman::WebSocketCodec& codec, const Event& e) {
  std::string frame;
  const std::uint8_t op = e.kind == wman::MessageKind::Text ? 0x1 : 0x2;
  wman::ws::appendFrameHeader(frame, true, false, op, e.payload.size());
  frame[1] = static_cast<char>(frame[1] | 0x80);
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  frame.append(key, 4);
  for (std::size_t i = 0; i < e.payload.size(); ++i)
    frame.push_back(static_cast<char>(e.payload[i] ^ key[i % 4]));
  const DecodeResult r = codec.decode(asBytes(frame));
  FUZZ_CHECK(r.status == S::Message);
  FUZZ_CHECK(r.consumed == frame.size());
  FUZZ_CHECK(r.kind == e.kind);
  FUZZ_CHECK(asString(r.payload) == e.payload);
}

std::vector<Event> feed(std::string_view input, std::size_t read_size, std::size_t max,
                        bool deflate) {
  auto codec = openCodec(max, deflate);
  // One plain session for every round trip: after a whole message it is back at rest.
  auto echo = openCodec(max, false);
  std::vector<Event> events;
  std::string buffer;
  bool closed = false;
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::size_t n = read_size == 0 ? input.size() - pos : read_size;
    buffer.append(input.substr(pos, n));
    pos += std::min(n, input.size() - pos);

    while (!buffer.empty()) {
      const DecodeResult r = codec->decode(asBytes(buffer));
      FUZZ_CHECK(r.consumed <= buffer.size());
      if (closed) {
        // Nothing is read after the peer's Close.
        FUZZ_CHECK(r.status == S::NeedMore && r.consumed == buffer.size());
      }
      Event e{r.status, r.code, r.kind, std::string(asString(r.payload))};
      switch (r.status) {
        case S::Error:
          FUZZ_CHECK(r.code == 1002 || r.code == 1007 || r.code == 1009);
          FUZZ_CHECK(!r.reason.empty());
          events.push_back(e);
          return events;
        case S::Message:
          FUZZ_CHECK(r.consumed >= 2);
          FUZZ_CHECK(r.payload.size() <= max);
          if (r.kind == wman::MessageKind::Text)
            FUZZ_CHECK(wman::ws::Utf8Validator::isValid(r.payload));
          checkRoundTrip(*echo, e);
          break;
        case S::Ping:
        case S::Pong:
          FUZZ_CHECK(r.payload.size() <= 125);
          break;
        case S::Close:
          FUZZ_CHECK(r.code == 1005 ? r.payload.empty() : wman::ws::isValidCloseCode(r.code));
          FUZZ_CHECK(wman::ws::Utf8Validator::isValid(r.payload));
          closed = true;
          break;
        case S::NeedMore:
          break;
        case S::Handshake:
        case S::Request:
        case S::Body:
          // A WebSocket codec past its handshake yields none of these.
          FUZZ_CHECK(false);
      }
      if (r.status != S::NeedMore) events.push_back(std::move(e));
      buffer.erase(0, r.consumed);
      if (r.status == S::NeedMore && r.consumed == 0) break;
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t read_size = data[0];
  const bool deflate = (data[1] & 1) != 0;
  // Small limits exercise 1009; 0x7f in the upper bits means the default 10 MiB.
  const std::size_t limit_bits = data[1] >> 1;
  const std::size_t max =
      limit_bits == 0x7f ? wman::CodecLimits{}.max_package_size : limit_bits * 8;
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<Event> chunked = feed(input, read_size, max, deflate);
  FUZZ_CHECK(chunked == feed(input, 0, max, deflate));
  return 0;
}
