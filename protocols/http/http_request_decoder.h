// The server side of HTTP/1.1 request parsing: one request at a time from a connection's
// byte stream, strict (llhttp with no lenient flags plus the checks llhttp leaves out), with
// the limits and keep-alive rules a server needs. Pure: no I/O, no clocks, no logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/http_head_collector.h"
#include "http/http_line_checker.h"
#include "wman/codec.h"
#include "wman/http.h"

struct llhttp__internal_s;  // llhttp_t, kept out of this header

namespace wman {

// Per-listener settings of the request decoder.
struct HttpDecoderOptions {
  // Bound on a request head (request line, headers, blank line) and, separately, on a chunked
  // body's trailer section; beyond it the request fails with 431. Same default as the
  // WebSocket handshake and nginx's large_client_header_buffers.
  std::size_t max_header_size = 8 * 1024;
  // Bound on a body, de-chunked; beyond it the request fails with 413: at the head when
  // Content-Length says so, at the chunk that would pass it when chunked. Workerman's
  // default maxPackageSize (10 MiB).
  std::size_t max_body_size = 10 * 1024 * 1024;
  // Deliver bodies in pieces (Body results) instead of buffering them whole, unless the
  // caller says otherwise per request with streamBody() at its Head result.
  bool stream_body = false;
};

// Outcome of one HttpRequestDecoder::decode() call.
struct HttpDecodeResult {
  enum class Status : std::uint8_t {
    // Nothing more to report: the decoder needs more bytes. `consumed` may be > 0 (the head
    // and buffered body are stored in the decoder, framing is dropped).
    NeedMore,
    // The head of a request with a body is complete (request() has everything but the
    // body). The caller may answer `100 Continue` when request().expect_continue, or refuse
    // with a final status and close, and may choose streamBody() for this request.
    Head,
    // Streamed body only: `data` is the next piece of the de-chunked body, a view into the
    // input within the `consumed` bytes.
    Body,
    // A request is complete: request() holds it, body included unless streamed. Bytes after
    // it are not consumed; they belong to the next request (pipelining).
    Request,
    // The request breaks the protocol or a limit. `http_status` and `reason` (a static
    // string) say which; the caller answers with encodeErrorResponse() and closes.
    Error,
  };

  Status status = Status::NeedMore;
  std::size_t consumed = 0;
  std::string_view data{};    // Body only
  int http_status = 0;        // Error only: 400, 405, 413, 417, 431, 501 or 505
  std::string_view reason{};  // Error only
};

// One connection's request stream. Not thread-safe, not movable (llhttp points back at it).
//
// The caller works like a connection's read loop: call decode() with every byte received and
// not yet consumed, drop `consumed` bytes, and call again until the result is NeedMore, even
// with no bytes left (a streamed request completes after its last piece without new input).
// Requests come one at a time, in order, so pipelined requests are answered in order by
// handling each Request before the next decode() call, which recycles request()'s storage.
//
// Refused with 400 because a proxy could read them differently (request smuggling):
// Content-Length with Transfer-Encoding, repeated or list-valued Content-Length, a
// Transfer-Encoding whose last coding is not chunked, bad chunk sizes or extensions, obs-fold,
// bare CR or LF, a request line with extra whitespace, a header name that is not a token,
// control characters in values, a missing or repeated Host on HTTP/1.1, Transfer-Encoding on
// HTTP/1.0. Also refused: versions other than 1.0 and 1.1 (505), CONNECT (405), an
// Expect other than 100-continue (417), transfer codings other than chunked alone (501).
// Trailers are parsed (and bounded) but dropped.
class HttpRequestDecoder {
 public:
  // Where the connection stands, for the timeouts the runtime applies (408 for a head or
  // body that does not finish, an idle timeout between requests).
  enum class State : std::uint8_t {
    Idle,      // between requests: no byte of the next one yet
    Head,      // part of a request head received
    Body,      // head complete, body (or trailers) still to come
    Upgraded,  // an upgrade request completed; the bytes after it are not HTTP
    Closed,    // a request ended the connection (no keep-alive); further input is dropped
    Failed,    // an Error was reported; decode() repeats it
  };

  explicit HttpRequestDecoder(const HttpDecoderOptions& options = {});
  ~HttpRequestDecoder();
  HttpRequestDecoder(const HttpRequestDecoder&) = delete;
  HttpRequestDecoder& operator=(const HttpRequestDecoder&) = delete;

  // Decodes from the front of `input` up to the next thing to report (see the class
  // comment). Never throws: an allocation failure is an Error with status 500.
  HttpDecodeResult decode(ByteSpan input);

  // The current request: its head after Head, all of it after Request. Views are valid
  // until the next decode() call.
  const HttpRequest& request() const { return request_; }

  // At a Head result: true takes this request's body as Body pieces, false buffers it whole
  // (the default comes from HttpDecoderOptions::stream_body).
  void streamBody(bool on) { stream_ = on; }

  State state() const;

  // After a Request with upgrade set, when the caller answered it as plain HTTP instead of
  // switching protocols: parsing goes on with the next request (or stops if the request
  // did not keep the connection alive).
  void continueAfterUpgrade();

  struct Callbacks;  // llhttp glue, defined in the .cpp

 private:
  friend struct Callbacks;

  enum class Phase : std::uint8_t { Head, Body, Trailers, Done, Upgraded, Closed, Failed };
  // Why llhttp_execute() stopped early (callbacks pause it at the points decode() reports).
  enum class Pause : std::uint8_t { None, HeadersComplete, LastChunk, BodyPiece, Complete };

  void startRequest();
  HttpDecodeResult fail(int status, std::string_view reason);
  int refuse(int status, const char* reason);  // from a callback: fail with this status
  int checkHead();                             // at the end of the head: 0 or refuse()
  int readTarget();
  HttpDecodeResult complete(std::size_t consumed);

  HttpDecoderOptions options_;
  std::unique_ptr<llhttp__internal_s> parser_;
  Phase phase_ = Phase::Head;
  Pause pause_ = Pause::None;
  bool stream_ = false;

  detail::HttpHeadCollector head_;
  detail::HttpLineChecker lines_;
  std::size_t head_bytes_ = 0;  // bytes of the current head or trailer section
  std::uint64_t body_bytes_ = 0;
  std::size_t extension_bytes_ = 0;  // chunk extensions, bounded by max_header_size
  bool trailer_named_ = false;       // the current trailer line has a name
  std::string body_;                 // the buffered body
  std::string_view piece_{};         // the streamed piece of the last Body result
  bool keep_alive_ = true;           // captured when the request completes
  bool upgrade_ = false;

  // The refusal a callback chose (llhttp's own errors are 400 with llhttp's reason).
  int failure_status_ = 0;
  const char* failure_reason_ = nullptr;

  HttpRequest request_;
};

}  // namespace wman
