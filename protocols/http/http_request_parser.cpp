#include "http/http_request_parser.h"

#include <llhttp.h>

#include <algorithm>
#include <string_view>

namespace wman {

// The llhttp callbacks, as static members of a friend so they can reach the parser's state.
struct HttpRequestParser::Callbacks {
  static HttpRequestParser& self(llhttp_t* p) { return *static_cast<HttpRequestParser*>(p->data); }

  // Pieces are appended in arrival order and nothing else is stored in between, so each
  // name, value or URL stays one contiguous run of storage_ however the input was split.
  static int onUrl(llhttp_t* p, const char* at, std::size_t n) {
    HttpRequestParser& h = self(p);
    if (h.url_.size == 0) h.url_.offset = h.storage_.size();
    h.storage_.append(at, n);
    h.url_.size += n;
    return 0;
  }
  // llhttp 8 lets spaces into header names ("Host : x"); RFC 7230 3.2.4 requires a 400,
  // and a name that is not a token could smuggle a header past an intermediary.
  static bool isTokenChar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  }
  static int onHeaderField(llhttp_t* p, const char* at, std::size_t n) {
    if (!std::all_of(at, at + n, isTokenChar)) return -1;
    HttpRequestParser& h = self(p);
    if (h.new_header_) {
      h.headers_.push_back({{h.storage_.size(), 0}, {}});
      h.new_header_ = false;
    }
    h.storage_.append(at, n);
    h.headers_.back().name.size += n;
    return 0;
  }
  static int onHeaderValue(llhttp_t* p, const char* at, std::size_t n) {
    HttpRequestParser& h = self(p);
    Span& v = h.headers_.back().value;
    if (v.size == 0) v.offset = h.storage_.size();
    h.storage_.append(at, n);
    v.size += n;
    return 0;
  }
  // Called even for an empty value, so it, not onHeaderValue, marks the end of a header.
  static int onHeaderValueComplete(llhttp_t* p) {
    self(p).new_header_ = true;
    return 0;
  }
  // Pausing here makes llhttp_execute stop right after the head's blank line; whatever
  // follows is not HTTP and must stay unconsumed.
  static int onHeadersComplete(llhttp_t*) { return HPE_PAUSED; }

  static const llhttp_settings_t& settings() {
    static const llhttp_settings_t s = [] {
      llhttp_settings_t st;
      llhttp_settings_init(&st);
      st.on_url = onUrl;
      st.on_header_field = onHeaderField;
      st.on_header_value = onHeaderValue;
      st.on_header_value_complete = onHeaderValueComplete;
      st.on_headers_complete = onHeadersComplete;
      return st;
    }();
    return s;
  }
};

HttpRequestParser::HttpRequestParser(std::size_t max_header_size, Kind kind)
    : max_header_size_(max_header_size), kind_(kind), parser_(std::make_unique<llhttp_t>()) {
  reset();
}

HttpRequestParser::~HttpRequestParser() = default;

void HttpRequestParser::reset() {
  llhttp_init(parser_.get(), kind_ == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE,
              &Callbacks::settings());
  parser_->data = this;
  fed_ = 0;
  done_ = {};
  finished_ = false;
  std::string().swap(storage_);
  url_ = {};
  std::vector<HeaderSpans>().swap(headers_);
  new_header_ = true;
  major_ = minor_ = 0;
  status_code_ = 0;
  request_ = {};
}

HttpRequestParser::Result HttpRequestParser::feed(ByteSpan input) {
  if (finished_) return done_;
  // Never hand llhttp more than the head may still take, so the bound is exact: a head of
  // max_header_size bytes passes, one byte more is 431, and storage never exceeds the bound.
  const std::size_t n = std::min(input.size(), max_header_size_ - fed_);
  const char* data = reinterpret_cast<const char*>(input.data());
  const llhttp_errno_t err = llhttp_execute(parser_.get(), data, n);

  Result r;
  if (err == HPE_PAUSED) {
    r.status = Result::Status::Done;
    r.consumed = static_cast<std::size_t>(llhttp_get_error_pos(parser_.get()) - data);
    fed_ += r.consumed;
    finish();
  } else if (err != HPE_OK) {
    r.status = Result::Status::Error;
    r.http_status = 400;
    r.reason = kind_ == Kind::Request ? "malformed HTTP request" : "malformed HTTP response";
  } else {
    fed_ += n;
    if (fed_ < max_header_size_) {
      r.consumed = n;
      return r;
    }
    r.status = Result::Status::Error;
    r.http_status = 431;
    r.reason = kind_ == Kind::Request ? "request header too large" : "response header too large";
  }
  finished_ = true;
  done_ = r;
  done_.consumed = 0;
  return r;
}

void HttpRequestParser::finish() {
  major_ = llhttp_get_http_major(parser_.get());
  minor_ = llhttp_get_http_minor(parser_.get());
  const std::string_view all(storage_);
  if (kind_ == Kind::Response) status_code_ = llhttp_get_status_code(parser_.get());
  auto view = [&all](Span s) {
    std::string_view v = all.substr(s.offset, s.size);
    // llhttp drops the whitespace before a value but keeps any before the line end.
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };

  if (kind_ == Kind::Request) {
    request_.method =
        llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(parser_.get())));
    std::string_view target = view(url_);
    target = target.substr(0, target.find('#'));  // a fragment is never part of the resource
    const std::size_t q = target.find('?');
    request_.path = target.substr(0, q);
    request_.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  }
  request_.headers.reserve(headers_.size());
  for (const HeaderSpans& h : headers_) request_.headers.emplace_back(view(h.name), view(h.value));
}

}  // namespace wman
