// Feeds a codec the way a connection's read buffer does, once for every way of splitting the
// input, and checks that the split never changes what comes out (Beast's parsegrind, uWS's
// makeChunked). Generic over wman::Codec so every protocol, WebSocket included, can use it.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "wman/codec.h"

namespace wman::test {

// One thing a codec reported to the connection: a message, or the error that closes it.
struct Event {
  enum class Type : std::uint8_t { Message, Error };

  Type type = Type::Message;
  std::string payload;                     // Message only.
  MessageKind kind = MessageKind::Binary;  // Message only.
  std::uint16_t code = 0;                  // Error only.
  std::string reason;                      // Error only.

  static Event message(std::string_view payload, MessageKind kind) {
    return Event{Type::Message, std::string(payload), kind, 0, {}};
  }
  static Event error(std::uint16_t code, std::string_view reason) {
    return Event{Type::Error, {}, MessageKind::Binary, code, std::string(reason)};
  }
  friend bool operator==(const Event&, const Event&) = default;
};

// Everything one feeding produced. `unconsumed` is what stayed in the read buffer at the end
// (an incomplete message); it is 0 after an error, because the connection is gone.
struct Feed {
  std::vector<Event> events;
  std::size_t unconsumed = 0;
  friend bool operator==(const Feed&, const Feed&) = default;
};

// Returns a fresh codec, as the registry does for each new connection.
using CodecMaker = std::function<std::unique_ptr<Codec>()>;

struct FeedOptions {
  // Zero-copy codecs return payloads that lie inside the bytes they consumed; codecs that
  // assemble messages in their own storage (WebSocket unmasking, fragments) turn this off.
  bool payload_in_input = true;
};

// Feeds `input` to one fresh codec in chunks cut at the ascending offsets `cuts` (empty: one
// chunk), like a connection: append the chunk, decode until NeedMore with nothing consumed,
// drop consumed bytes after each call, stop for good at the first Error. REQUIREs the codec
// contract on every call (consumed within the input, payload placement, bounded progress).
inline Feed feedAt(const CodecMaker& make, std::string_view input,
                   const std::vector<std::size_t>& cuts, const FeedOptions& options = {}) {
  std::unique_ptr<Codec> codec = make();
  REQUIRE(codec != nullptr);
  Feed feed;
  std::string buffer;
  // Every call either consumes a byte or ends a chunk, so more calls than this means a codec
  // that returns Message without consuming anything, which would hang a real connection.
  const std::size_t max_calls = 3 * (input.size() + cuts.size() + 1) + 16;
  std::size_t calls = 0;

  std::size_t start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
    REQUIRE(start <= end);
    REQUIRE(end <= input.size());
    buffer.append(input.substr(start, end - start));
    start = end;

    while (!buffer.empty()) {
      REQUIRE(++calls <= max_calls);
      const DecodeResult r = codec->decode(asBytes(buffer));
      REQUIRE(r.consumed <= buffer.size());
      if (r.status == DecodeResult::Status::Error) {
        feed.events.push_back(Event::error(r.code, r.reason));
        return feed;
      }
      if (r.status == DecodeResult::Status::Message) {
        if (options.payload_in_input && !r.payload.empty()) {
          const auto* lo = reinterpret_cast<const std::byte*>(buffer.data());
          REQUIRE(r.payload.data() >= lo);
          REQUIRE(r.payload.data() + r.payload.size() <= lo + r.consumed);
        }
        feed.events.push_back(Event::message(asString(r.payload), r.kind));
      }
      buffer.erase(0, r.consumed);
      if (r.status == DecodeResult::Status::NeedMore && r.consumed == 0) break;
    }
  }
  feed.unconsumed = buffer.size();
  return feed;
}

// Calls `check(cuts)` for every way decodeEverySplit() splits an input of `size` bytes: whole,
// byte by byte, and in two chunks at every offset, each inside a Catch INFO naming the split.
// Codecs whose output legitimately depends on the split (raw TCP) use it to check their own
// invariant per split.
template <typename Check>
void forEachSplit(std::size_t size, Check&& check) {
  {
    INFO("fed whole");
    check(std::vector<std::size_t>{});
  }
  {
    INFO("fed byte by byte");
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < size; ++i) every_byte.push_back(i);
    check(every_byte);
  }
  for (std::size_t cut = 0; cut <= size; ++cut) {
    INFO("fed in two chunks split at offset " << cut);
    check(std::vector<std::size_t>{cut});
  }
}

// Feeds `input` whole, byte by byte, and in two chunks split at every offset, REQUIREs all of
// them to produce the same Feed, and returns it for the test to check. Cost is quadratic in
// the input size, so keep inputs to a few KiB (use small CodecLimits for oversize cases).
inline Feed decodeEverySplit(const CodecMaker& make, std::string_view input,
                             const FeedOptions& options = {}) {
  const Feed whole = feedAt(make, input, {}, options);
  forEachSplit(input.size(), [&](const std::vector<std::size_t>& cuts) {
    const Feed split = feedAt(make, input, cuts, options);
    REQUIRE(split == whole);
  });
  return whole;
}

inline std::ostream& operator<<(std::ostream& os, const Event& e) {
  if (e.type == Event::Type::Error) {
    return os << "Error(" << e.code << ", \"" << e.reason << "\")";
  }
  // Payloads may be binary or huge: escape and cap them so a failure report stays readable.
  constexpr std::size_t kShown = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  os << (e.kind == MessageKind::Text ? "Text" : "Binary") << "(\"";
  for (std::size_t i = 0; i < e.payload.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(e.payload[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      os << static_cast<char>(c);
    } else {
      os << "\\x" << kHex[c >> 4] << kHex[c & 0xf];
    }
  }
  if (e.payload.size() > kShown) os << "...";
  return os << "\", " << e.payload.size() << " bytes)";
}

inline std::ostream& operator<<(std::ostream& os, const Feed& f) {
  os << "{";
  for (const Event& e : f.events) os << e << ", ";
  return os << "unconsumed=" << f.unconsumed << "}";
}

}  // namespace wman::test
