// An incremental HTTP/1.1 request-head parser on llhttp: feeds bytes until the blank line
// that ends the head, and stops there so the bytes after it (a WebSocket client's first
// frames) stay in the caller's buffer. The same parser reads response heads for the
// WebSocket client role (Kind::Response), whose 101 is likewise followed by frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_head_collector.h"
#include "wman/codec.h"
#include "wman/http_head_reader.h"

struct llhttp__internal_s;  // llhttp_t, kept out of this header

namespace wman {

// Parses one request head. Pure: no I/O, no clocks. Not copyable (llhttp keeps a pointer to
// it). Body bytes are not parsed: they are left to whoever reads after the head.
class HttpRequestParser {
 public:
  // Default bound on the head (request line + headers + blank line), as uWS and nginx's
  // large_client_header_buffers are in the same range.
  static constexpr std::size_t kDefaultMaxHeaderSize = 8 * 1024;

  // What the head starts with: a request line or a status line.
  enum class Kind : std::uint8_t { Request, Response };

  // NeedMore / Done / Error with the bytes used, and for an Error the status (400 malformed,
  // 431 head too large, for requests and responses alike) and a static reason.
  using Result = HttpHeadResult;

  // `max_header_size` bounds the head; a head still incomplete after that many bytes is an
  // Error with status 431. A Response parser leaves method, path and query empty and
  // reports the status code through statusCode().
  explicit HttpRequestParser(std::size_t max_header_size = kDefaultMaxHeaderSize,
                             Kind kind = Kind::Request);
  ~HttpRequestParser();
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses the next bytes of the head. The caller drops `consumed` bytes and calls again with
  // what follows (the codec read-buffer contract); calls after Done or Error return the same
  // result again with consumed 0.
  Result feed(ByteSpan input);

  // After Done: the request. Its views point into this parser and stay valid until it is
  // destroyed or reset().
  const HandshakeRequest& request() const { return request_; }
  // After Done: the HTTP version from the request line.
  int httpMajor() const { return major_; }
  int httpMinor() const { return minor_; }
  // After Done, Response kind: the status code from the status line.
  int statusCode() const { return status_code_; }

  // Forgets everything, ready for a new request (and frees the stored head).
  void reset();

  struct Callbacks;  // llhttp glue, defined in the .cpp

 private:
  friend struct Callbacks;

  void finish();

  std::size_t max_header_size_;
  Kind kind_;
  std::unique_ptr<llhttp__internal_s> parser_;
  std::size_t fed_ = 0;  // head bytes given to llhttp so far
  Result done_{};        // the final Done/Error result once reached
  bool finished_ = false;

  // Request line and header pieces as llhttp reports them.
  detail::HttpHeadCollector head_;
  int major_ = 0;
  int minor_ = 0;
  int status_code_ = 0;
  HandshakeRequest request_;
};

}  // namespace wman
