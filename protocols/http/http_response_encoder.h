// The server side of HTTP/1.1 response writing: status line, headers and the body's framing
// (Content-Length, chunked, or close-delimited for HTTP/1.0), with the rules that depend on
// the request (HEAD, version, keep-alive). Pure: the caller supplies the Date string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "wman/http.h"

namespace wman {

// Writes one response. The caller either sends it whole (encodeWhole) or streams it
// (encodeHead, encodeBody as often as needed, encodeEnd), then reads keepAlive() to know
// whether the connection may carry the next request once the bytes are flushed.
//
// What the encoder owns: Content-Length and Transfer-Encoding set by the application are
// dropped (the framing must match the bytes actually sent), so is Connection (except on a
// 101, whose Connection: upgrade belongs to the new protocol); "Connection: close" set by
// the application is honoured. A Date set by the application replaces the given one. No
// body is sent for HEAD, 1xx, 204 and 304, and no framing header for 1xx and 204. A status
// outside 100-999 is sent as 500.
class HttpResponseEncoder {
 public:
  // Answers `request`: HEAD or not, its HTTP version and whether it allows keep-alive.
  explicit HttpResponseEncoder(const HttpRequest& request);
  // For a response without a parsed request (the connection closes after it).
  HttpResponseEncoder(bool head_request, int version_minor, bool keep_alive);

  // Appends the head with Content-Length: body.size() and then `body` (only the head for
  // HEAD: its Content-Length is what a GET would carry). `date` empty: no Date header.
  void encodeWhole(const HttpResponseHead& head, std::string_view body, std::string_view date,
                   std::string& out);

  // Appends the head of a streamed response. `content_length` >= 0 fixes the body's length
  // (it is then sent as is, the way a file is); -1 means unknown: chunked for HTTP/1.1, for
  // HTTP/1.0 sent as is and ended by closing the connection.
  void encodeHead(const HttpResponseHead& head, std::int64_t content_length, std::string_view date,
                  std::string& out);
  // Appends the next piece of a streamed body (a chunk when chunked; an empty piece writes
  // nothing, since an empty chunk would end the body). Returns false if the piece goes past
  // the fixed Content-Length: only what fits is written and the connection must close.
  bool encodeBody(std::string_view data, std::string& out);
  // The caller sent `bytes` of a fixed-length body itself (a file handed to the kernel):
  // they count against Content-Length like encodeBody()'s. False if they go past it.
  bool countBody(std::uint64_t bytes);
  // Ends a streamed body: the last chunk ("0\r\n\r\n") when chunked. A fixed-length body cut
  // short cannot be completed, so the connection will not be kept alive.
  void encodeEnd(std::string& out);

  // Whether the connection may carry another request after this response.
  bool keepAlive() const { return keep_alive_; }
  // False when the response has no body on the wire (HEAD, 1xx, 204, 304): a caller that
  // would send a file skips it.
  bool sendsBody() const { return sends_body_; }
  bool chunked() const { return chunked_; }

 private:
  bool head_request_;
  int version_minor_;
  bool keep_alive_;
  bool sends_body_ = true;
  bool chunked_ = false;
  std::int64_t remaining_ = -1;  // bytes still due under a fixed Content-Length
};

// Appends "HTTP/1.1 100 Continue" and its blank line: the go-ahead for a request that
// expects it (HttpRequest::expect_continue).
void encodeContinue(std::string& out);

// Appends a complete response that closes the connection: `status` with its standard
// phrase, Content-Type text/plain, Content-Length, Connection: close, Date when `date` is
// not empty, then `message` as the body. For the statuses HttpRequestDecoder reports
// (400, 405, 413, 417, 431, 501, 505) and the runtime's own (408, 500, 503).
void encodeErrorResponse(int status, std::string_view message, std::string_view date,
                         std::string& out);

// formatHttpDate(), for the `date` arguments above, is public: wman/http.h.

}  // namespace wman
