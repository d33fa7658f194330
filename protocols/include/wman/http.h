// The HTTP/1.1 request and response types wman hands to applications, and the small helpers
// around them. Plain data: the decoder that fills an HttpRequest and the encoder that writes
// an HttpResponseHead live in protocols/http/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wman {

// ASCII case-insensitive equality, the way HTTP compares header names and most tokens.
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// True if `list`, read as a comma-separated header value ("keep-alive, Upgrade"), holds
// `token` (ASCII case-insensitive, whitespace around items ignored).
bool headerListHas(std::string_view list, std::string_view token);

// One header line as received: name as sent, value without surrounding whitespace.
using HttpHeader = std::pair<std::string_view, std::string_view>;

// Name/value pairs of a Cookie header value ("a=1; b=\"2\""), in order, views into `value`.
// Values lose one pair of surrounding double quotes; pieces without '=' or with an empty name
// are skipped.
std::vector<HttpHeader> parseCookies(std::string_view value);

// One request as the decoder received it. Every view points into the decoder that produced
// it and stays valid until that decoder's next decode() call (the caller copies what it keeps
// longer) or its destruction.
struct HttpRequest {
  std::string_view method;  // as sent ("GET"); methods are case-sensitive
  std::string_view target;  // the request-target as sent, fragment included if any
  std::string_view path;    // the target's path ("/a%20b"), percent-encoding kept; "*" for
                            // "OPTIONS *"; an absolute-form target ("http://h/x") gives "/x"
  std::string_view query;   // after the first '?', without it; empty if none
  int version_minor = 1;    // HTTP/1.<minor>; the decoder accepts 1.0 and 1.1 only
  std::vector<HttpHeader> headers;  // every header line in arrival order (no trailers)
  // The whole body, de-chunked, once the request is complete; empty while only the head is
  // known and for a body taken in pieces (HttpRequestDecoder::streamBody).
  std::string_view body;
  // Content-Length as sent, or -1 when the body is chunked or there is none.
  std::int64_t content_length = -1;
  bool chunked = false;  // Transfer-Encoding: chunked
  // The connection may carry another request after this one: HTTP/1.1 unless "Connection:
  // close", HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive = true;
  // "Expect: 100-continue" on an HTTP/1.1 request with a body: the client may wait for a
  // "100 Continue" (or a final status) before sending that body.
  bool expect_continue = false;
  // "Connection: upgrade" with an Upgrade header (a WebSocket handshake): the decoder stops
  // after this request and leaves what follows to whoever takes the connection over.
  bool upgrade = false;

  // The first header named `name` (ASCII case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  // True if some header line is named `name`, even with an empty value.
  bool hasHeader(std::string_view name) const;
  // Every cookie of every Cookie header line, in order (see parseCookies).
  std::vector<HttpHeader> cookies() const;
  // The first cookie named `name` (case-sensitive, as RFC 6265 compares them), or empty.
  std::string_view cookie(std::string_view name) const;
  bool isHead() const { return method == "HEAD"; }
};

// The status line and headers of a response, as an application builds them. The encoder adds
// the framing (Content-Length or chunked), Date and Connection itself and drops any such
// header set here except Date; header lines holding CR, LF or NUL are dropped so that no
// value can split the response.
struct HttpResponseHead {
  int status = 200;
  std::string reason;  // empty: the standard phrase for `status`
  std::vector<std::pair<std::string, std::string>> headers;

  // Replaces every header named `name` (case-insensitive) with one line.
  void set(std::string_view name, std::string_view value);
  // Appends a line, for headers that repeat (Set-Cookie).
  void add(std::string_view name, std::string_view value);
  // Removes every header named `name`.
  void remove(std::string_view name);
  // The first header named `name`, or empty.
  std::string_view get(std::string_view name) const;
};

// The standard reason phrase for `status` ("Not Found"), or empty for a code wman does not
// know.
std::string_view httpReasonPhrase(int status);

// The IMF-fixdate form of a time given in seconds since 1970 ("Sun, 06 Nov 1994 08:49:37
// GMT", RFC 9110 5.6.7), for Date and Last-Modified; the runtime formats it once per second.
std::string formatHttpDate(std::int64_t unix_seconds);

// Seconds since 1970 for an HTTP-date in any of the three forms a recipient must accept
// (IMF-fixdate, the obsolete RFC 850 and asctime forms; RFC 9110 5.6.7), or nullopt when
// `value` is none of them. A two-digit RFC 850 year below 70 is taken as 20xx, else 19xx.
std::optional<std::int64_t> parseHttpDate(std::string_view value);

}  // namespace wman
