// Feeds an HttpRequestDecoder the way a connection's read loop does, once for every way of
// splitting the input, and turns what it reports into comparable lines, so a test states
// the expected outcome once and every split must produce exactly that.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "http/http_request_decoder.h"
#include "split_feed.h"

namespace wman::test {

// One line per report: "head GET /p expect", "request ...", "error 400 reason".
struct HttpFeed {
  std::vector<std::string> events;
  std::size_t unconsumed = 0;  // bytes left in the buffer (after an upgrade, say)
  HttpRequestDecoder::State state = HttpRequestDecoder::State::Idle;
  friend bool operator==(const HttpFeed&, const HttpFeed&) = default;
};

inline std::ostream& operator<<(std::ostream& os, const HttpFeed& f) {
  for (const std::string& e : f.events) os << "[" << e << "] ";
  return os << "unconsumed=" << f.unconsumed << " state=" << static_cast<int>(f.state);
}

// "request GET /p?q HTTP/1.1 ka body=<...>": what an application would see of a request.
inline std::string describe(const HttpRequest& r, std::string_view body) {
  std::string s = "request " + std::string(r.method) + " " + std::string(r.path);
  if (!r.query.empty()) s += "?" + std::string(r.query);
  s += r.version_minor == 1 ? " HTTP/1.1" : " HTTP/1.0";
  if (r.keep_alive) s += " ka";
  if (r.upgrade) s += " upgrade";
  if (!body.empty()) s += " body=" + std::string(body);
  return s;
}

// Feeds `input` cut at `cuts`: append a chunk, then decode until NeedMore (an empty buffer
// included), dropping consumed bytes after each call, and stop at the first Error. Bodies
// are taken whole unless `options.stream_body`; streamed pieces are joined, since where they
// are cut depends on the split. REQUIREs the decoder's contract on every call.
inline HttpFeed feedHttp(std::string_view input, const std::vector<std::size_t>& cuts,
                         const HttpDecoderOptions& options = {}) {
  using S = HttpDecodeResult::Status;
  HttpRequestDecoder decoder(options);
  HttpFeed feed;
  std::string buffer;
  std::string streamed;
  const std::size_t max_calls = 4 * (input.size() + cuts.size() + 1) + 16;
  std::size_t calls = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
    buffer.append(input.substr(start, end - start));
    start = end;
    while (true) {
      REQUIRE(++calls <= max_calls);
      const HttpDecodeResult r = decoder.decode(asBytes(buffer));
      REQUIRE(r.consumed <= buffer.size());
      if (r.status == S::Error) {
        CHECK(r.consumed == 0);
        CHECK(decoder.state() == HttpRequestDecoder::State::Failed);
        feed.events.push_back("error " + std::to_string(r.http_status) + " " +
                              std::string(r.reason));
        feed.state = decoder.state();
        return feed;
      }
      if (r.status == S::Body) {
        REQUIRE(r.data.data() >= buffer.data());
        REQUIRE(r.data.data() + r.data.size() <= buffer.data() + r.consumed);
        streamed.append(r.data);
      }
      if (r.status == S::Head) {
        const HttpRequest& q = decoder.request();
        CHECK(q.body.empty());
        feed.events.push_back("head " + std::string(q.method) + " " + std::string(q.path) +
                              (q.expect_continue ? " expect" : ""));
      }
      if (r.status == S::Request) {
        const HttpRequest& q = decoder.request();
        feed.events.push_back(describe(q, options.stream_body ? streamed : q.body));
        streamed.clear();
      }
      buffer.erase(0, r.consumed);
      if (r.status == S::NeedMore) break;
    }
  }
  feed.unconsumed = buffer.size();
  feed.state = decoder.state();
  return feed;
}

// Feeds `input` whole, byte by byte and split in two at every offset; all must agree.
inline HttpFeed feedHttpEverySplit(std::string_view input, const HttpDecoderOptions& options = {}) {
  const HttpFeed whole = feedHttp(input, {}, options);
  forEachSplit(input.size(), [&](const std::vector<std::size_t>& cuts) {
    REQUIRE(feedHttp(input, cuts, options) == whole);
  });
  return whole;
}

}  // namespace wman::test
