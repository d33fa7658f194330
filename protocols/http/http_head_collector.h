// What every llhttp-based head parser of wman keeps while a head arrives: the request-target
// and the header lines, as llhttp reports them piece by piece across reads. Shared by the
// WebSocket handshake parser and the HTTP request decoder so both read heads alike.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wman::detail {

// True for the characters of an RFC 9110 token (header names, methods).
bool isTokenChar(char c);

// Splits an origin-form target ("/a?b#c") into path and query; the fragment is dropped (it
// is never part of the resource).
void splitTarget(std::string_view target, std::string_view& path, std::string_view& query);

class HttpHeadCollector {
 public:
  // A piece of the request-target.
  void appendUrl(const char* at, std::size_t n);
  // A piece of a header name; false if it holds a non-token character. llhttp 8 lets spaces
  // into names ("Host : x"); RFC 9112 5.1 requires a 400, and a name that is not a token
  // could smuggle a header past an intermediary.
  bool appendName(const char* at, std::size_t n);
  // A piece of a header value; false if no name came before it. llhttp 8 takes ": v" for a
  // header with an empty name, which RFC 9112 5.1 does not allow (a name is a token).
  bool appendValue(const char* at, std::size_t n);
  // The current header line is complete (called even for an empty value); false if it had
  // no name.
  bool endValue();

  // The request-target, trailing whitespace removed.
  std::string_view url() const;
  // Replaces `out` with the collected header lines (views into this collector, valid until
  // it is cleared), values without trailing whitespace (llhttp drops only the leading).
  template <typename Pair>
  void headers(std::vector<Pair>& out) const {
    out.clear();
    out.reserve(headers_.size());
    for (const HeaderSpans& h : headers_) out.emplace_back(view(h.name), view(h.value));
  }

  // Forgets the head but keeps the memory, for the next request on a connection.
  void clear();
  // Forgets the head and frees its memory.
  void release();

 private:
  struct Span {
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  struct HeaderSpans {
    Span name;
    Span value;
  };

  std::string_view view(Span s) const;

  // Pieces are appended in arrival order and nothing else is stored in between, so each
  // name, value or URL stays one contiguous run of storage_ however the input was split.
  std::string storage_;
  Span url_;
  std::vector<HeaderSpans> headers_;
  bool new_header_ = true;  // the next header-name piece starts a new header
};

}  // namespace wman::detail
