// One HTTP/1.1 request head, read up to its blank line: for a program that answers a few
// plain requests on a codec of its own (the daemon's /metrics endpoint) instead of through
// an http:// worker.
//
// Why a head reader and not the http:// codec's request decoder made public: such endpoints
// read no bodies and close after each answer, so the decoder's body framing, pipelining and
// upgrade states would go unused, and its header carries the llhttp glue protocols/ keeps
// internal. This is the parser the WebSocket handshake uses, behind a pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "wman/codec.h"

namespace wman {

class HttpRequestParser;

// Outcome of HttpHeadReader::feed().
struct HttpHeadResult {
  enum class Status : std::uint8_t { NeedMore, Done, Error };
  Status status = Status::NeedMore;
  // NeedMore: every input byte (they are stored); Done: the head's bytes up to and including
  // its final "\r\n"; Error: 0.
  std::size_t consumed = 0;
  // Error only: 400 (malformed) or 431 (head too large).
  int http_status = 0;
  std::string_view reason{};  // Error only: a static string
};

// Reads one request head at a time. Pure (no I/O, no clocks); not copyable.
class HttpHeadReader {
 public:
  // A head still incomplete after `max_header_size` bytes is an Error with status 431.
  explicit HttpHeadReader(std::size_t max_header_size);
  ~HttpHeadReader();
  HttpHeadReader(const HttpHeadReader&) = delete;
  HttpHeadReader& operator=(const HttpHeadReader&) = delete;

  // Parses the next bytes. The caller drops `consumed` bytes and calls again with what
  // follows; after Done or Error the same result comes back with consumed 0 until reset().
  HttpHeadResult feed(ByteSpan input);

  // After Done: method, path (without the query), query and headers. The views stay valid
  // until reset() or destruction.
  const HandshakeRequest& request() const;

  // Forgets the head, ready for the next one.
  void reset();

 private:
  std::unique_ptr<HttpRequestParser> parser_;
};

}  // namespace wman
