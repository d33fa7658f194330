// libFuzzer target for the http:// session codec (HttpServerCodec) the way the runtime
// drives it: requests answered in order (whole, streamed, or after 100-continue), bodies
// streamed or buffered, an upgrade on a WebSocket path handed to the WebSocket codec. The
// first byte picks the read size (low five bits, 0 = everything at once), streamed bodies
// (bit 5), small limits (bit 6) and streamed responses (bit 7). Checks: decode() keeps its
// contract (consumed within the input, Body only while a request is answered, Request only
// when none is owed), wait() agrees with what was reported, every response starts with a
// status line, and after an upgrade the connection is the WebSocket codec's.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/http_server_codec.h"
#include "websocket/websocket_codec.h"

#include "fuzz_check.h"

namespace {

using wman::DecodeResult;
using Status = DecodeResult::Status;
using Wait = wman::RequestSession::Wait;

constexpr std::string_view kDate = "Thu, 01 Jan 1970 00:00:00 GMT";

std::shared_ptr<wman::HttpServerOptions> options(std::uint8_t flags) {
  auto o = std::make_shared<wman::HttpServerOptions>();
  o->decoder.stream_body = (flags & 0x20) != 0;
  if ((flags & 0x40) != 0) {
    o->decoder.max_header_size = 256;
    o->decoder.max_body_size = 64;
  }
  o->websocket_paths = {"/ws"};
  o->websocket = wman::webSocketCodecFactory(wman::WebSocketOptions{});
  return o;
}

// Answers the current request; streamed in pieces when `stream`.
void answer(wman::RequestSession& s, bool stream, std::string& out) {
  const std::size_t before = out.size();
  s.responseHead().set("X-Path", s.request().path);
  if (stream) {
    s.respondHead(-1, kDate, out);
    s.respondBody(s.request().path, out);
    s.respondEnd(out);
  } else {
    s.respond(s.request().body, kDate, out);
  }
  FUZZ_CHECK(std::string_view(out).substr(before).starts_with("HTTP/1."));
  FUZZ_CHECK(!s.answering());
}

// Feeds `input` in `read_size` pieces and acts on every result; false once the connection
// would close.
void run(std::string_view input, std::size_t read_size, std::uint8_t flags) {
  wman::HttpServerCodec codec(options(flags));
  std::string buffer, out;
  std::size_t pos = 0;
  bool upgraded = false;
  while (pos < input.size()) {
    const std::size_t n = read_size == 0 ? input.size() - pos : read_size;
    buffer.append(input.substr(pos, n));
    pos += std::min(n, input.size() - pos);
    for (int steps = 0; steps < 100000; ++steps) {
      wman::RequestSession* s = codec.requests();
      const bool owed = s && s->answering() && s->requestComplete();
      const DecodeResult r = codec.decode(wman::asBytes(buffer));
      FUZZ_CHECK(r.consumed <= buffer.size());
      buffer.erase(0, r.consumed);
      switch (r.status) {
        case Status::NeedMore:
          if (r.consumed == 0) steps = 100000;
          break;
        case Status::Error:
          codec.encodeError(r.code, r.reason, out);
          return;
        case Status::Request:
          FUZZ_CHECK(s != nullptr && !owed);
          FUZZ_CHECK(s->answering());
          if (!s->requestComplete()) {
            s->encodeContinue(out);
            if (!s->bodyStreamed()) break;
            FUZZ_CHECK(s->wait() != Wait::Response);
            break;
          }
          answer(*s, (flags & 0x80) != 0, out);
          if (!s->keepAlive()) return;
          break;
        case Status::Body:
          FUZZ_CHECK(s != nullptr && s->bodyStreamed());
          if (r.code == 1) {
            answer(*s, (flags & 0x80) != 0, out);
            if (!s->keepAlive()) return;
          }
          break;
        case Status::Handshake: {
          FUZZ_CHECK(codec.requests() == nullptr);
          upgraded = true;
          const wman::HandshakeRequest* hs = codec.handshakeRequest();
          FUZZ_CHECK(hs != nullptr && hs->path == "/ws");
          FUZZ_CHECK(codec.answerHandshake(wman::HandshakeAnswer{}, out));
          FUZZ_CHECK(codec.isOpen() && codec.pings());
          break;
        }
        case Status::Close:
          return;
        default:
          FUZZ_CHECK(upgraded);
          break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  run(input, flags & 0x1f, flags);
  return 0;
}
