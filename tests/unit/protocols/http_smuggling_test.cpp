// HttpRequestDecoder refuses every request shape that two HTTP parsers could read
// differently (request smuggling), and the versions, methods and codings it does not serve,
// each with its status, however the bytes are split.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "http_feed.h"
#include "http_smuggling_shapes.h"

namespace wman {
namespace {

using namespace std::literals;

// The first line of the outcome must be "error <status> ...", whatever came before it
// (a head may be reported before a body turns out bad).
void checkRefused(const test::SmugglingShape& shape) {
  INFO(shape.what);
  const test::HttpFeed f = test::feedHttpEverySplit(shape.input);
  REQUIRE_FALSE(f.events.empty());
  CHECK(f.events.back().starts_with("error " + std::to_string(shape.status) + " "));
  CHECK(f.state == HttpRequestDecoder::State::Failed);
}

TEST_CASE("http smuggling: framing conflicts are 400", "[http]") {
  for (const test::SmugglingShape& s : test::framingConflicts()) checkRefused(s);
}

TEST_CASE("http smuggling: bad chunks are 400", "[http]") {
  for (const test::SmugglingShape& s : test::badChunks()) checkRefused(s);
}

TEST_CASE("http smuggling: malformed heads are 400", "[http]") {
  for (const test::SmugglingShape& s : test::malformedHeads()) checkRefused(s);
}

TEST_CASE("http smuggling: what wman does not serve has its own status", "[http]") {
  for (const test::SmugglingShape& s : test::notServed()) checkRefused(s);
}

TEST_CASE("http smuggling: what strictness still accepts", "[http]") {
  // Empty lines before a request line (RFC 9112 2.2), obs-text in values, OWS around
  // values, upper-case chunked, hex sizes in either case with leading zeros.
  const std::string ok = "\r\nGET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9 \r\n\r\n" +
                         test::kSmugglePost +
                         "Transfer-Encoding: CHUNKED\r\n\r\n00A\r\n0123456789\r\n0\r\n\r\n";
  const test::HttpFeed f = test::feedHttpEverySplit(ok);
  CHECK(f.events == std::vector<std::string>{"request GET / HTTP/1.1 ka", "head POST /",
                                             "request POST / HTTP/1.1 ka body=0123456789"});
}

}  // namespace
}  // namespace wman
