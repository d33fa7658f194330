// permessage-deflate data path through the codec (RFC 7692 7.2): the RFC's example bytes,
// context takeover or not in both directions, limits (zip bombs are 1009) and errors.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <string>
#include <string_view>

#include "websocket/deflate.h"
#include "ws_test_util.h"

namespace wman {
namespace {

using namespace std::literals;
using test::Event;
using test::Feed;
using namespace test::ws;

WebSocketOptions deflateOn(ws::DeflateOptions d = {}) {
  WebSocketOptions o;
  o.permessage_deflate = true;
  o.deflate = d;
  return o;
}

const std::string kOffer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";

test::CodecMaker deflateMaker(std::size_t max = CodecLimits{}.max_package_size,
                              std::string offer = kOffer, ws::DeflateOptions d = {}) {
  return openMaker(CodecLimits{max}, deflateOn(d), offer);
}

// An independent raw-deflate compressor playing the client.
class ClientDeflater {
 public:
  explicit ClientDeflater(int window_bits = 15) {
    REQUIRE(deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, 8,
                         Z_DEFAULT_STRATEGY) == Z_OK);
  }
  ~ClientDeflater() { deflateEnd(&z_); }
  // One message's compressed payload, tail removed (RFC 7692 7.2.1).
  std::string compress(std::string_view in) {
    std::string out(in.size() + 64 + in.size() / 100, '\0');
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z_, Z_SYNC_FLUSH) == Z_OK);
    REQUIRE(z_.avail_out > 0);
    out.resize(out.size() - z_.avail_out);
    REQUIRE(out.ends_with("\x00\x00\xff\xff"sv));
    out.resize(out.size() - 4);
    return out;
  }
  void reset() { deflateReset(&z_); }

 private:
  z_stream z_{};
};

// An independent raw-deflate decompressor playing the client for server frames.
class ClientInflater {
 public:
  ClientInflater() { REQUIRE(inflateInit2(&z_, -15) == Z_OK); }
  ~ClientInflater() { inflateEnd(&z_); }
  std::string inflate(std::string compressed) {
    compressed += "\x00\x00\xff\xff"s;
    std::string out(1 << 20, '\0');
    z_.next_in = reinterpret_cast<Bytef*>(compressed.data());
    z_.avail_in = static_cast<uInt>(compressed.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    const int ret = ::inflate(&z_, Z_SYNC_FLUSH);
    REQUIRE((ret == Z_OK || ret == Z_BUF_ERROR));
    REQUIRE(z_.avail_in == 0);
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
};

// Splits a server frame into header fields and payload (server frames are unmasked).
struct ServerFrame {
  std::uint8_t b0 = 0;
  std::string payload;
};
ServerFrame readServerFrame(std::string_view wire) {
  const ws::HeaderResult h =
      ws::parseFrameHeader(asBytes(wire), {.rsv1_allowed = true, .require_mask = false});
  REQUIRE(h.status == ws::HeaderResult::Status::Ok);
  REQUIRE(wire.size() == h.header.header_size + h.header.payload_size);
  return {static_cast<std::uint8_t>(wire[0]), std::string(wire.substr(h.header.header_size))};
}

TEST_CASE("deflate: the handshake answers the offer only when enabled", "[websocket][deflate]") {
  for (bool enabled : {false, true}) {
    WebSocketOptions o;
    o.permessage_deflate = enabled;
    WebSocketCodec codec(CodecLimits{}, o);
    REQUIRE(codec.decode(asBytes(upgradeRequest(kOffer))).status ==
            DecodeResult::Status::Handshake);
    std::string out;
    REQUIRE(codec.answerHandshake(HandshakeAnswer{}, out));
    INFO("enabled " << enabled);
    CHECK((out.find("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n") != std::string::npos) ==
          enabled);
    CHECK((codec.deflateParams() != nullptr) == enabled);
  }
  // Enabled, but the client offers nothing acceptable: no extension, RSV1 stays illegal.
  CHECK(test::decodeEverySplit(
            deflateMaker(CodecLimits{}.max_package_size,
                         "Sec-WebSocket-Extensions: permessage-deflate; x=1\r\n"),
            clientFrame(kFin | kRsv1 | kText, "\xf2\x48\xcd\xc9\xc9\x07\x00"s),
            kOwned) == Feed{{Event::error(1002, "reserved bits set without an extension")}, 0});
}

TEST_CASE("deflate: RFC 7692 7.2.3 example messages", "[websocket][deflate]") {
  struct Row {
    const char* clause;
    std::string input;
    Feed expected;
  };
  const std::string hello = "\xf2\x48\xcd\xc9\xc9\x07\x00"s;
  const Row rows[] = {
      {"7.2.3.1 a message compressed in one frame",
       clientFrame(kFin | kRsv1 | kText, hello),
       {{textEvent("Hello")}, 0}},
      {"7.2.3.1 the same message in two fragments",
       clientFrame(kRsv1 | kText, "\xf2\x48\xcd"s) + clientFrame(kFin | kCont, "\xc9\xc9\x07\x00"s),
       {{textEvent("Hello")}, 0}},
      {"7.2.3.2 sharing the LZ77 window",
       clientFrame(kFin | kRsv1 | kText, hello) +
           clientFrame(kFin | kRsv1 | kText, "\xf2\x00\x11\x00\x00"s),
       {{textEvent("Hello"), textEvent("Hello")}, 0}},
      {"7.2.3.3 a stored (uncompressed) block",
       clientFrame(kFin | kRsv1 | kText, "\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00"s),
       {{textEvent("Hello")}, 0}},
      {"7.2.3.4 a block with BFINAL set",
       clientFrame(kFin | kRsv1 | kText, "\xf3\x48\xcd\xc9\xc9\x07\x00\x00"s) + text("after"),
       {{textEvent("Hello"), textEvent("after")}, 0}},
      {"7.2.3.4 BFINAL, then the next compressed message starts afresh",
       clientFrame(kFin | kRsv1 | kText, "\xf3\x48\xcd\xc9\xc9\x07\x00\x00"s) +
           clientFrame(kFin | kRsv1 | kText, hello),
       {{textEvent("Hello"), textEvent("Hello")}, 0}},
      {"7.2.3.5 two DEFLATE blocks in one message",
       clientFrame(kFin | kRsv1 | kText, "\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00"s),
       {{textEvent("Hello")}, 0}},
      {"7.2.3.6 an empty message",
       clientFrame(kFin | kRsv1 | kBinary, "\x00"s),
       {{binaryEvent("")}, 0}},
      {"an empty compressed payload",
       clientFrame(kFin | kRsv1 | kBinary, ""),
       {{binaryEvent("")}, 0}},
      {"uncompressed messages still work",
       text("plain") + clientFrame(kFin | kRsv1 | kText, hello),
       {{textEvent("plain"), textEvent("Hello")}, 0}},
      {"ping between compressed fragments",
       clientFrame(kRsv1 | kText, "\xf2\x48\xcd"s) + ping("p") +
           clientFrame(kFin | kCont, "\xc9\xc9\x07\x00"s),
       {{pingEvent("p"), textEvent("Hello")}, 0}},
      {"RSV1 on a continuation frame",
       clientFrame(kRsv1 | kText, "\xf2\x48\xcd"s) +
           clientFrame(kFin | kRsv1 | kCont, "\xc9\xc9\x07\x00"s),
       {{Event::error(1002, "RSV1 set on a continuation frame")}, 0}},
      {"RSV1 on a ping",
       clientFrame(kFin | kRsv1 | kPing, ""),
       {{Event::error(1002, "RSV1 set on a control frame")}, 0}},
      {"RSV2 is still reserved",
       clientFrame(kFin | kRsv2 | kText, hello),
       {{Event::error(1002, "reserved bits set without an extension")}, 0}},
      {"invalid DEFLATE data",
       clientFrame(kFin | kRsv1 | kBinary, "\xff\xff\xff\xff"s),
       {{Event::error(1007, "invalid compressed data")}, 0}},
  };
  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.clause) {
      CHECK(test::decodeEverySplit(deflateMaker(), row.input, kOwned) == row.expected);
    }
  }
}

TEST_CASE("deflate: client context takeover, and client_no_context_takeover",
          "[websocket][deflate]") {
  const std::string msg = "the same words again and again and again";
  ClientDeflater client;
  std::string input;
  for (int i = 0; i < 3; ++i) input += clientFrame(kFin | kRsv1 | kText, client.compress(msg));
  // The second and third messages refer back to the first: decodable only with the window kept.
  CHECK(test::decodeEverySplit(deflateMaker(), input, kOwned) ==
        Feed{{textEvent(msg), textEvent(msg), textEvent(msg)}, 0});

  // A client that resets its compressor per message (it offered client_no_context_takeover).
  ClientDeflater resetting;
  std::string independent;
  for (int i = 0; i < 3; ++i) {
    independent += clientFrame(kFin | kRsv1 | kBinary, resetting.compress(msg));
    resetting.reset();
  }
  CHECK(test::decodeEverySplit(
            deflateMaker(
                CodecLimits{}.max_package_size,
                "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"),
            independent,
            kOwned) == Feed{{binaryEvent(msg), binaryEvent(msg), binaryEvent(msg)}, 0});
}

TEST_CASE("deflate: server output, with and without context takeover", "[websocket][deflate]") {
  ws::DeflateOptions d;
  d.min_compress_size = 0;
  auto codec = openCodec({}, deflateOn(d), kOffer);
  std::string first, second;
  codec->encode(asBytes("Hello"), MessageKind::Text, first);
  codec->encode(asBytes("Hello"), MessageKind::Text, second);
  CHECK(first == "\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00"s);  // RFC 7692 7.2.3.1
  CHECK(second == "\xc1\x05\xf2\x00\x11\x00\x00"s);         // RFC 7692 7.2.3.2

  // An empty message is the single byte of RFC 7692 7.2.3.6, even right after a sync flush
  // (where zlib itself would produce nothing), and the stream goes on undisturbed.
  std::string empty, third;
  codec->encode(asBytes(""), MessageKind::Binary, empty);
  codec->encode(asBytes("Hello"), MessageKind::Text, third);
  CHECK(empty == "\xc2\x01\x00"s);
  ClientInflater client;
  CHECK(client.inflate(readServerFrame(first).payload) == "Hello");
  CHECK(client.inflate(readServerFrame(second).payload) == "Hello");
  CHECK(client.inflate(readServerFrame(empty).payload) == "");
  CHECK(client.inflate(readServerFrame(third).payload) == "Hello");

  auto fresh =
      openCodec({}, deflateOn(d),
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n");
  first.clear();
  second.clear();
  fresh->encode(asBytes("Hello"), MessageKind::Text, first);
  fresh->encode(asBytes("Hello"), MessageKind::Text, second);
  CHECK(first == "\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00"s);
  CHECK(second == first);
}

TEST_CASE("deflate: server frames inflate back, small ones are not compressed",
          "[websocket][deflate]") {
  auto codec = openCodec({}, deflateOn(), kOffer);
  ClientInflater client;
  std::string big;
  for (int i = 0; i < 100000; ++i)
    big += static_cast<char>('a' + (static_cast<unsigned>(i) * static_cast<unsigned>(i)) % 26);
  for (const std::string& msg : {big, std::string(200, 'z'), big.substr(0, 70000)}) {
    std::string wire = "junk before";
    codec->encode(asBytes(msg), MessageKind::Binary, wire);
    const ServerFrame f = readServerFrame(std::string_view(wire).substr(11));
    CHECK(f.b0 == (0x80 | 0x40 | 0x2));
    CHECK(f.payload.size() < msg.size());
    CHECK(client.inflate(f.payload) == msg);
  }
  std::string small;
  codec->encode(asBytes("tiny"), MessageKind::Text, small);
  CHECK(small == "\x81\x04tiny"s);  // below min_compress_size (32): RSV1 clear
}

TEST_CASE("deflate: inflated size is bounded by max_package_size (1009)", "[websocket][deflate]") {
  ClientDeflater exact_client;
  const std::string exact = exact_client.compress(std::string(1000, 'a'));
  CHECK(test::decodeEverySplit(deflateMaker(1000), clientFrame(kFin | kRsv1 | kBinary, exact),
                               kOwned) == Feed{{binaryEvent(std::string(1000, 'a'))}, 0});
  ClientDeflater over_client;
  const std::string over = over_client.compress(std::string(1001, 'a'));
  CHECK(test::decodeEverySplit(deflateMaker(1000), clientFrame(kFin | kRsv1 | kBinary, over),
                               kOwned) == Feed{{Event::error(1009, "message too big")}, 0});

  // Fragments adding up to one byte too much.
  ClientDeflater frag_client;
  const std::string two = frag_client.compress(std::string(1001, 'b'));
  const std::string fragmented = clientFrame(kRsv1 | kBinary, two.substr(0, two.size() / 2)) +
                                 clientFrame(kFin | kCont, two.substr(two.size() / 2));
  CHECK(test::decodeEverySplit(deflateMaker(1000), fragmented, kOwned) ==
        Feed{{Event::error(1009, "message too big")}, 0});
}

TEST_CASE("deflate: a zip bomb fails while inflating, before its frame is complete",
          "[websocket][deflate]") {
  ClientDeflater client;
  const std::string bomb = client.compress(std::string(64 << 20, '\0'));  // 64 MiB of zeros
  REQUIRE(bomb.size() < 100000);
  const std::string frame = clientFrame(kFin | kRsv1 | kBinary, bomb);
  auto codec = openCodec(CodecLimits{1 << 20}, deflateOn(), kOffer);
  // Only a tenth of the frame has arrived, and that already inflates past 1 MiB.
  std::string head = frame.substr(0, frame.size() / 10);
  const DecodeResult r = codec->decode(asBytes(head));
  REQUIRE(r.status == DecodeResult::Status::Error);
  CHECK(r.code == 1009);
  CHECK(r.reason == "message too big");

  // And a compressed frame larger than the limit allows is refused from its header.
  CHECK(test::decodeEverySplit(deflateMaker(1000), "\xc2\xfe\x10\x00\1\2\3\4"s, kOwned) ==
        Feed{{Event::error(1009, "message too big")}, 0});
}

TEST_CASE("deflate: compressed text is UTF-8 checked while inflating", "[websocket][deflate]") {
  // Text that barely compresses, so the surrogate near its start is far from the frame's end.
  std::string noise;
  std::uint32_t seed = 12345;
  for (int i = 0; i < 8000; ++i) {
    seed = seed * 1103515245u + 12345u;
    noise.push_back(static_cast<char>('!' + (seed >> 16) % 90));
  }
  ClientDeflater client;
  const std::string bad = client.compress("valid start \xed\xa0\x80 then " + noise);
  const std::string frame = clientFrame(kFin | kRsv1 | kText, bad);
  REQUIRE(frame.size() > 4000);
  ClientDeflater whole_client;
  const std::string overlong = clientFrame(kFin | kRsv1 | kText, whole_client.compress("\xc0\xaf"));
  CHECK(test::decodeEverySplit(deflateMaker(), overlong, kOwned) ==
        Feed{{Event::error(1007, "invalid UTF-8 in text message")}, 0});

  auto codec = openCodec({}, deflateOn(), kOffer);
  // The bytes holding the surrogate are enough to fail, long before the frame ends.
  std::string head = frame.substr(0, frame.size() / 2);
  const DecodeResult r = codec->decode(asBytes(head));
  REQUIRE(r.status == DecodeResult::Status::Error);
  CHECK(r.code == 1007);
}

TEST_CASE("deflate: a 9-bit window client and an 8-bit promise", "[websocket][deflate]") {
  // server_max_window_bits=8 is granted; zlib compresses with 9, whose matches reach back at
  // most 250 bytes, so a client inflating with a 256-byte window reads every message.
  ws::DeflateOptions d;
  d.min_compress_size = 0;
  auto codec =
      openCodec({}, deflateOn(d),
                "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n");
  REQUIRE(codec->deflateParams() != nullptr);
  CHECK(codec->deflateParams()->server_max_window_bits == 8);
  z_stream z{};
  REQUIRE(inflateInit2(&z, -8) == Z_OK);
  std::string msg;
  for (int i = 0; i < 3000; ++i) msg += "abcdefghij"[i % 7] + std::string(i % 5, 'k');
  for (int round = 0; round < 3; ++round) {
    std::string wire;
    codec->encode(asBytes(msg), MessageKind::Binary, wire);
    std::string payload = readServerFrame(wire).payload + "\x00\x00\xff\xff"s;
    std::string out(msg.size() + 16, '\0');
    z.next_in = reinterpret_cast<Bytef*>(payload.data());
    z.avail_in = static_cast<uInt>(payload.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int ret = inflate(&z, Z_SYNC_FLUSH);
    INFO("round " << round);
    REQUIRE(ret == Z_OK);
    out.resize(out.size() - z.avail_out);
    CHECK(out == msg);
  }
  inflateEnd(&z);
}

}  // namespace
}  // namespace wman
