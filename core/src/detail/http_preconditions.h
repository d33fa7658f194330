// The validator and range arithmetic of RFC 9110 sections 13 and 14 that a static-file
// responder needs: pure functions over header values, with no file system and no clock, so
// each rule is testable on its own. Dates are parsed by wman::parseHttpDate (wman/http.h).
#pragma once

#include <cstdint>
#include <string_view>

namespace wman::detail {

// True if `list`, an If-Match or If-None-Match value ("*" or comma-separated entity tags),
// names `etag`. With `weak` the W/ prefixes are ignored on both sides (the weak comparison
// If-None-Match uses); without it a weak tag on either side never matches (If-Match,
// If-Range). A malformed list matches only through the tags read before the fault.
bool entityTagListMatches(std::string_view list, std::string_view etag, bool weak);

// What a Range header asks of a representation of a given size.
enum class RangeKind {
  None,           // absent, another unit, or syntactically invalid: the header is ignored
  Single,         // one satisfiable range: `offset` and `length` are set, clamped to the size
  Multiple,       // more than one range-spec (wman answers those with the whole file)
  Unsatisfiable,  // one range-spec whose bytes do not exist (416)
};

struct ByteRange {
  RangeKind kind = RangeKind::None;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// Reads a Range header value ("bytes=0-99", "bytes=100-", "bytes=-100") against a
// representation of `size` bytes (RFC 9110 14.1.2). Positions too large for 64 bits
// saturate, so they are simply past the end. For an empty representation every single range
// is Unsatisfiable, since no byte of it exists.
ByteRange parseByteRange(std::string_view value, std::uint64_t size);

}  // namespace wman::detail
