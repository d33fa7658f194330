// RedisCodec: replies of every RESP2 type framed by hiredis's reader, fed whole, byte by byte
// and split at every offset; the limits a hostile server meets; garbage.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "split_feed.h"
#include "wman/protocol_registry.h"
#include "wman/redis_codec.h"
#include "wman/redis_reply.h"

using namespace wman;
using wman::test::decodeEverySplit;
using wman::test::Event;
using wman::test::Feed;
using wman::test::feedAt;

namespace {

test::CodecMaker maker(std::size_t max = CodecLimits{}.max_package_size) {
  return [max] { return std::make_unique<RedisCodec>(CodecLimits{max}); };
}

// The codec assembles each reply in its own storage.
constexpr test::FeedOptions kOwnStorage{false};

Feed decode(std::string_view wire, std::size_t max = CodecLimits{}.max_package_size) {
  return decodeEverySplit(maker(max), wire, kOwnStorage);
}

Event msg(std::string_view wire) {
  return Event::message(wire, MessageKind::Binary);
}

}  // namespace

TEST_CASE("RedisCodec returns each reply type in canonical form") {
  const std::string wire =
      GENERATE(as<std::string>{}, "+OK\r\n", "-ERR unknown command\r\n", ":0\r\n", ":-42\r\n",
               ":9223372036854775807\r\n", "$0\r\n\r\n", "$3\r\nfoo\r\n", "$-1\r\n", "*0\r\n",
               "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
  INFO(wire);
  const Feed f = decode(wire);
  REQUIRE(f.events == std::vector<Event>{msg(wire)});
  CHECK(f.unconsumed == 0);
}

TEST_CASE("RedisCodec reads a nil array as a nil bulk string") {
  CHECK(decode("*-1\r\n").events == std::vector<Event>{msg("$-1\r\n")});
}

TEST_CASE("RedisCodec returns pipelined replies one per call, in order") {
  const Feed f = decode("+OK\r\n:42\r\n$3\r\nfoo\r\n*1\r\n$-1\r\n-ERR x\r\n");
  CHECK(f.events == std::vector<Event>{msg("+OK\r\n"), msg(":42\r\n"), msg("$3\r\nfoo\r\n"),
                                       msg("*1\r\n$-1\r\n"), msg("-ERR x\r\n")});
  CHECK(f.unconsumed == 0);
}

TEST_CASE("RedisCodec keeps an unfinished reply and completes it later") {
  const Feed f = decode("$5\r\nhello\r\n*2\r\n:1\r\n");
  CHECK(f.events == std::vector<Event>{msg("$5\r\nhello\r\n")});
  // The unfinished array was consumed into the reader.
  CHECK(f.unconsumed == 0);
  RedisCodec codec;
  std::string buffer = "*2\r\n:1";
  auto r = codec.decode(asBytes(buffer));
  CHECK(r.status == DecodeResult::Status::NeedMore);
  CHECK(r.consumed == buffer.size());
  CHECK(codec.inMessage());
  buffer = "\r\n:2\r\n";
  r = codec.decode(asBytes(buffer));
  REQUIRE(r.status == DecodeResult::Status::Message);
  CHECK(asString(r.payload) == "*2\r\n:1\r\n:2\r\n");
  CHECK(!codec.inMessage());
}

TEST_CASE("RedisCodec nests arrays and parseRedisReply rebuilds the tree") {
  const std::string wire = "*3\r\n*2\r\n:1\r\n$1\r\na\r\n*0\r\n*1\r\n*1\r\n+deep\r\n";
  const Feed f = decode(wire);
  REQUIRE(f.events == std::vector<Event>{msg(wire)});
  const auto reply = parseRedisReply(asBytes(f.events[0].payload));
  REQUIRE(reply);
  REQUIRE(reply->isArray());
  REQUIRE(reply->elements.size() == 3);
  CHECK(reply->elements[0].elements[0].integer == 1);
  CHECK(reply->elements[0].elements[1].is("a"));
  CHECK(reply->elements[1].elements.empty());
  CHECK(reply->elements[2].elements[0].elements[0].type == RedisReply::Type::Status);
  CHECK(reply->elements[2].elements[0].elements[0].str == "deep");
}

TEST_CASE("RedisCodec is binary-safe in bulk strings") {
  using namespace std::string_literals;
  const std::string payload = "a\0b\r\nc\r\n\0"s;
  const std::string wire = "*3\r\n$7\r\nmessage\r\n$3\r\nc\0h\r\n$9\r\n"s + payload + "\r\n";
  const Feed f = decode(wire);
  REQUIRE(f.events == std::vector<Event>{msg(wire)});
  const auto reply = parseRedisReply(asBytes(f.events[0].payload));
  REQUIRE(reply);
  CHECK(reply->elements[1].str == "c\0h"s);
  CHECK(reply->elements[2].str == payload);
}

TEST_CASE("RedisCodec reads a big bulk string in small reads") {
  std::string big(300 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>(i);
  const std::string wire = "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n+OK\r\n";
  for (std::size_t chunk : {1000u, 4096u, 65536u}) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = chunk; at < wire.size(); at += chunk) cuts.push_back(at);
    const Feed f = feedAt(maker(), wire, cuts, kOwnStorage);
    REQUIRE(f.events.size() == 2);
    CHECK(f.events[0].payload == wire.substr(0, wire.size() - 5));
    CHECK(f.events[1].payload == "+OK\r\n");
  }
}

TEST_CASE("RedisCodec refuses a reply past max_package_size while it arrives") {
  SECTION("a bulk string announced larger than the limit") {
    const std::string head = "$1000\r\n" + std::string(100, 'y');
    const Feed f = feedAt(maker(64), head, {}, kOwnStorage);
    CHECK(f.events == std::vector<Event>{Event::error(codec_error::kTooLarge,
                                                      "redis reply exceeds max_package_size")});
  }
  SECTION("an array whose elements add up past it") {
    std::string wire = "*100\r\n";
    for (int i = 0; i < 100; ++i) wire += ":1\r\n";
    const Feed f = decode(wire, 64);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].code == codec_error::kTooLarge);
  }
  SECTION("a reply exactly at the limit passes") {
    const std::string wire = "$5\r\nhello\r\n";
    CHECK(decode(wire, wire.size()).events == std::vector<Event>{msg(wire)});
    CHECK(decode(wire, wire.size() - 1).events.at(0).code == codec_error::kTooLarge);
  }
}

TEST_CASE("RedisCodec bounds the values of one reply") {
  // Announcing millions of elements costs nothing until they arrive, and is refused at once.
  const Feed f = feedAt(maker(), "*2000000\r\n", {}, kOwnStorage);
  CHECK(f.events == std::vector<Event>{
                        Event::error(codec_error::kTooLarge, "redis reply has too many values")});
}

TEST_CASE("RedisCodec reports what hiredis rejects as malformed") {
  const std::string wire = GENERATE(as<std::string>{}, "hello\r\n", "?x\r\n", "*-2\r\n",
                                    "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n");
  INFO(wire);
  const Feed f = decode(wire);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].type == Event::Type::Error);
  CHECK(f.events[0].code == codec_error::kMalformed);
  CHECK(!f.events[0].reason.empty());
}

TEST_CASE("RedisCodec survives absurd bulk lengths") {
  const std::string wire =
      GENERATE(as<std::string>{}, "$9223372036854775807\r\nabc\r\n",
               "$18446744073709551615\r\nabc\r\n", "$99999999999999999999999\r\nab\r\n");
  INFO(wire);
  const Feed f = decode(wire, 1024);
  for (const Event& e : f.events) CHECK(e.type == Event::Type::Error);
}

TEST_CASE("RedisCodec passes a formatted command through encode") {
  RedisCodec codec;
  std::string out;
  const std::string command = formatRedisCommand({"PING"});
  codec.encode(asBytes(command), MessageKind::Binary, out);
  CHECK(out == "*1\r\n$4\r\nPING\r\n");
}

TEST_CASE("registerRedisProtocol makes \"redis\" a protocol name") {
  CHECK(registerRedisProtocol());
  CHECK(registerRedisProtocol());
  auto codec = ProtocolRegistry::create("redis", CodecLimits{});
  REQUIRE(codec);
  const std::string wire = "+PONG\r\n";
  const DecodeResult r = codec->decode(asBytes(wire));
  CHECK(r.status == DecodeResult::Status::Message);
}

TEST_CASE("RedisCodec reports the same outcome however a hostile reply is split") {
  // A bulk header whose garbage length hiredis reads only once the line is complete: the
  // reader never sees more than the limit plus one byte, so the size error comes first in
  // every split.
  const std::string wire = "$abc*99999999999999999999abc*-1\r\n\r1\n*-1\r\n-";
  const Feed f = decode(wire, 16);
  CHECK(f.events == std::vector<Event>{Event::error(codec_error::kTooLarge,
                                                    "redis reply exceeds max_package_size")});
}
