// What an http:// worker's application sees: Worker::onRequest(Request&, Response&).
// docs/http.md has the guide.
#pragma once

#include <cstdint>
#include <string_view>

#include "wman/connection.h"
#include "wman/http.h"

namespace wman {

namespace detail {
class WorkerRuntime;
class ConnectionImpl;
}  // namespace detail

// The request being answered: method, path, query, headers, cookies, body (wman/http.h).
// Its views stay valid until its response ends, so a handler that answers later (after a
// timer or a bus reply) may keep the reference until then.
using Request = HttpRequest;

// The answer to one request: a small copyable handle. Keep a copy to answer later; requests
// of a connection are answered in order, so the next one waits until this one ends. Every
// call made after the response ended, or once the connection is gone, does nothing and
// returns NotConnected (or false / nullptr).
//
// Head first (status(), header()), then either end(body), or write() pieces and end().
// Sends follow the connection's back-pressure like any send: Buffered when queued behind
// unsent bytes, Dropped (and the connection's onBufferFull) once maxSendBuffer is reached.
class Response {
 public:
  Response() = default;

  // The status (200 unless set) and, optionally, a reason phrase other than the standard.
  Response& status(int code, std::string_view reason = {});
  // Replaces every header `name` with one line / appends a line (Set-Cookie repeats).
  // Content-Length, Transfer-Encoding and Connection are wman's (see HttpResponseHead).
  Response& header(std::string_view name, std::string_view value);
  Response& addHeader(std::string_view name, std::string_view value);

  // The whole response: the head with Content-Length, then `body`. Ends the response.
  SendStatus end(std::string_view body);
  // Ends a streamed response (the last chunk), or sends an empty one if nothing was sent.
  SendStatus end();
  // Announces the body's length before the first write(): it is then sent as is, not
  // chunked.
  Response& contentLength(std::uint64_t bytes);
  // The next piece of a streamed body; the first call sends the head (chunked unless
  // contentLength() was given; HTTP/1.0 clients get the body until the connection closes).
  SendStatus write(std::string_view data);

  // Server-Sent Events: sends the head (text/event-stream, no caching) of a response that
  // stays open, then one event per call: `data` (split into data: lines), with an event
  // name and an id when given. end() ends the stream.
  SendStatus startEvents();
  SendStatus event(std::string_view data, std::string_view name = {}, std::string_view id = {});

  // Answers from the worker's static files ([worker.http] root): the file for the request's
  // path with ETag, Last-Modified, Range and 304 handling, or 404 when there is no root.
  SendStatus serveStatic();

  // False once the response ended or its connection is gone.
  bool active() const;
  // The connection the request came on (remote address, context), or nullptr once gone.
  Connection* connection() const;

 private:
  friend class detail::ConnectionImpl;
  Response(detail::WorkerRuntime* runtime, ConnectionId id, std::uint64_t number)
      : runtime_(runtime), id_(id), number_(number) {}
  // The connection, if the request this handle answers is still being answered.
  detail::ConnectionImpl* current() const;

  detail::WorkerRuntime* runtime_ = nullptr;
  ConnectionId id_ = 0;
  std::uint64_t number_ = 0;
  std::int64_t length_ = -1;  // contentLength(), for the head write() sends
};

}  // namespace wman
