// Request shapes an HTTP server must refuse, each with the status it answers: the ones two
// parsers could read differently (request smuggling) and what wman does not serve. Shared by
// the codec's unit test and the real-socket test of http:// workers.
#pragma once

#include <string>
#include <vector>

namespace wman::test {

struct SmugglingShape {
  const char* what;
  std::string input;
  int status;
};

inline const std::string kSmugglePost = "POST / HTTP/1.1\r\nHost: h\r\n";
inline const std::string kSmuggleChunked = kSmugglePost + "Transfer-Encoding: chunked\r\n\r\n";

inline std::vector<SmugglingShape> framingConflicts() {
  using namespace std::literals;
  return {
      {"Content-Length with Transfer-Encoding",
       kSmugglePost + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding then Content-Length",
       kSmugglePost + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
      {"two equal Content-Lengths",
       kSmugglePost + "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
      {"two different Content-Lengths",
       kSmugglePost + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy", 400},
      {"a Content-Length list", kSmugglePost + "Content-Length: 5, 6\r\n\r\nhello!", 400},
      {"a Content-Length list of equal values", kSmugglePost + "Content-Length: 5,5\r\n\r\nhello",
       400},
      {"a signed Content-Length", kSmugglePost + "Content-Length: +5\r\n\r\nhello", 400},
      {"an overflowing Content-Length",
       kSmugglePost + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
      {"Transfer-Encoding without chunked", kSmugglePost + "Transfer-Encoding: gzip\r\n\r\nx", 400},
      {"chunked not last", kSmugglePost + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
      {"chunked twice",
       kSmugglePost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"a look-alike of chunked", kSmugglePost + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
       400},
      {"Transfer-Encoding in HTTP/1.0",
       "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding in a trailer",
       kSmuggleChunked + "0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
  };
}

inline std::vector<SmugglingShape> badChunks() {
  using namespace std::literals;
  return {
      {"a chunk size that is not hex", kSmuggleChunked + "zz\r\n", 400},
      {"a negative chunk size", kSmuggleChunked + "-5\r\nhello\r\n0\r\n\r\n", 400},
      {"a 0x chunk size", kSmuggleChunked + "0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"an overflowing chunk size", kSmuggleChunked + "fffffffffffffffffff\r\n", 400},
      {"space after the chunk size", kSmuggleChunked + "5 \r\nhello\r\n0\r\n\r\n", 400},
      {"an empty chunk size", kSmuggleChunked + "\r\nhello\r\n0\r\n\r\n", 400},
      {"a bare LF after the chunk size", kSmuggleChunked + "5\nhello\r\n0\r\n\r\n", 400},
      {"chunk data longer than its size", kSmuggleChunked + "5\r\nhelloXX\r\n0\r\n\r\n", 400},
      {"a bare LF after chunk data", kSmuggleChunked + "5\r\nhello\n0\r\n\r\n", 400},
      {"a quote in an extension name", kSmuggleChunked + "5;a\"b\r\nhello\r\n0\r\n\r\n", 400},
      {"obs-fold in a trailer", kSmuggleChunked + "0\r\nX: a\r\n b\r\n\r\n", 400},
      {"a bare LF in a trailer", kSmuggleChunked + "0\r\nX: a\nY: b\r\n\r\n", 400},
      {"a bad trailer name", kSmuggleChunked + "0\r\nX Y: a\r\n\r\n", 400},
      {"an empty trailer name", kSmuggleChunked + "0\r\n: a\r\n\r\n", 400},
  };
}

inline std::vector<SmugglingShape> malformedHeads() {
  using namespace std::literals;
  return {
      {"a bare LF ending the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
      {"a bare LF ending a header", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400},
      {"a bare LF ending the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400},
      {"a bare CR in the request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400},
      {"a bare CR in a value", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400},
      {"obs-fold with a space", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
      {"obs-fold with a tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400},
      {"whitespace before the first header", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
      {"two spaces in the request line", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"a tab in the request line", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"a space in the target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"space after the version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"space before a header's colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"an empty header name", "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", 400},
      {"an empty first header name", "GET / HTTP/1.1\r\n:Host h\r\nHost: h\r\n\r\n", 400},
      {"a header name with a slash", "GET / HTTP/1.1\r\nHost: h\r\nA/B: c\r\n\r\n", 400},
      {"a control character in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400},
      {"DEL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", 400},
      {"NUL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\0z\r\n\r\n"s, 400},
      {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400},
      {"a target that is no URI form", "GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"an asterisk target for GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"an unknown method", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"a lower-case method", "get / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"a version llhttp does not know", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 400},
      {"no version", "GET /\r\nHost: h\r\n\r\n", 400},
  };
}

inline std::vector<SmugglingShape> notServed() {
  using namespace std::literals;
  return {
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505},
      {"CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 405},
      {"a coding before chunked",
       kSmugglePost + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
  };
}

// Every shape above.
inline std::vector<SmugglingShape> allRefusedShapes() {
  std::vector<SmugglingShape> all;
  for (auto group : {framingConflicts(), badChunks(), malformedHeads(), notServed()})
    all.insert(all.end(), group.begin(), group.end());
  return all;
}

}  // namespace wman::test
