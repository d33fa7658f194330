// The server side of a request/response protocol (http), as the runtime drives it: requests
// come out of Codec::decode() one at a time (Status::Request, Status::Body), the application
// answers each through the calls below, and the runtime applies the timeouts wait() names.
// Pure: the runtime supplies the Date string and writes the bytes appended to `out`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "wman/http.h"

namespace wman {

class RequestSession {
 public:
  // What the connection is waiting for, which decides the deadline that applies.
  enum class Wait : std::uint8_t {
    Idle,      // between requests: the keep-alive timeout closes it silently
    Head,      // part of a request head arrived: the header timeout answers 408
    Body,      // the head is in, the body is arriving: the body timeout answers 408
    Response,  // the application owes the answer: no deadline (a stream may last)
  };

  virtual ~RequestSession() = default;

  virtual Wait wait() const = 0;

  // After a Request result and until its response ends: the request. Its views stay valid
  // until then, since decode() reads no further request while one is being answered
  // (pipelined requests wait in the caller's buffer and are answered in order).
  // The application may rewrite its copy of the views (a path, say); parsing does not read
  // them.
  virtual HttpRequest& request() = 0;
  // False at a Request result that reports only the head: its body follows as Body results
  // (bodyStreamed()) or, buffered, as a later Request result (the head was reported because
  // the client waits for 100 Continue: the caller sends encodeContinue() and waits).
  virtual bool requestComplete() const = 0;
  virtual bool bodyStreamed() const = 0;
  // Appends "100 Continue" once, if the current request asked for it and no final status
  // was sent yet.
  virtual void encodeContinue(std::string& out) = 0;
  // Requests reported so far: a response handle compares it to find out whether the request
  // it answers is still the current one.
  virtual std::uint64_t requestNumber() const = 0;

  // The response to the current request, in order: its head is built in responseHead() until
  // respond() or respondHead() sends it.
  virtual HttpResponseHead& responseHead() = 0;
  virtual bool responseStarted() const = 0;
  // True from a Request result until its response ends.
  virtual bool answering() const = 0;
  // The whole response with Content-Length: body.size(); ends it.
  virtual void respond(std::string_view body, std::string_view date, std::string& out) = 0;
  // A streamed response: the head (content_length -1 = unknown: chunked), pieces, the end.
  virtual void respondHead(std::int64_t content_length, std::string_view date,
                           std::string& out) = 0;
  // False when `data` goes past the announced Content-Length (the rest is not written).
  virtual bool respondBody(std::string_view data, std::string& out) = 0;
  // The caller wrote `bytes` of a fixed-length body to the peer itself (a file handed to
  // the kernel): counted against Content-Length. False if they go past it.
  virtual bool respondBodySent(std::uint64_t bytes) = 0;
  virtual void respondEnd(std::string& out) = 0;
  // After respondHead(): false when no body goes on the wire (HEAD, 204, 304).
  virtual bool sendsBody() const = 0;

  // After a response ended: false when the connection must close once it is flushed.
  virtual bool keepAlive() const = 0;
  // A graceful stop: the response in progress (or the next one) says Connection: close.
  virtual void closeAfterResponse() = 0;
  // Appends a complete response that ends the connection (408, 500, 503) unless a response
  // already started; then appends nothing.
  virtual void encodeFailure(int status, std::string_view message, std::string_view date,
                             std::string& out) = 0;
};

}  // namespace wman
