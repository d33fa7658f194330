// What the codec of an idle WebSocket connection costs: it is paid by each of a million.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "websocket/websocket_codec.h"

using wman::ByteSpan;
using wman::CodecLimits;
using wman::DecodeResult;
using wman::WebSocketCodec;
using wman::WebSocketOptions;

TEST_CASE("the server codec stays within its size budget") {
  std::printf("sizeof(WebSocketCodec) = %zu\n", sizeof(WebSocketCodec));
  // 104 bytes with a shared_ptr to the options and the failure reason as a string_view.
  CHECK(sizeof(WebSocketCodec) <= 88);
  // Codecs live in slots (wman/slot_allocator.h).
  CHECK(sizeof(WebSocketCodec) <= wman::SlotAllocator::kMaxSlot);
}

TEST_CASE("codecs keep the listener's options after the factory is gone") {
  WebSocketOptions options;
  options.max_header_size = 64;  // a request head longer than this fails with 431
  std::unique_ptr<wman::Codec> codec;
  {
    wman::CodecFactory factory = wman::webSocketCodecFactory(options);
    codec = factory(CodecLimits{});
    auto other = factory(CodecLimits{});  // a second user of the same options
  }
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n";
  const DecodeResult r =
      codec->decode(ByteSpan(reinterpret_cast<std::byte*>(head.data()), head.size()));
  CHECK(r.status == DecodeResult::Status::Error);
  CHECK(r.code == 431);
  // A failed codec repeats its error, reason and all.
  const DecodeResult again = codec->decode(ByteSpan{});
  CHECK(again.status == DecodeResult::Status::Error);
  CHECK(again.code == 431);
  CHECK(again.reason == r.reason);
  CHECK_FALSE(r.reason.empty());
}
