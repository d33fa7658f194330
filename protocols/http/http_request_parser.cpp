#include "http/http_request_parser.h"

#include <llhttp.h>

namespace wman {

// The llhttp callbacks, as static members of a friend so they can reach the parser's state.
struct HttpRequestParser::Callbacks {
  static HttpRequestParser& self(llhttp_t* p) { return *static_cast<HttpRequestParser*>(p->data); }

  static int onUrl(llhttp_t* p, const char* at, std::size_t n) {
    self(p).head_.appendUrl(at, n);
    return 0;
  }
  static int onHeaderField(llhttp_t* p, const char* at, std::size_t n) {
    return self(p).head_.appendName(at, n) ? 0 : -1;
  }
  static int onHeaderValue(llhttp_t* p, const char* at, std::size_t n) {
    return self(p).head_.appendValue(at, n) ? 0 : -1;
  }
  // Called even for an empty value, so it, not onHeaderValue, marks the end of a header.
  static int onHeaderValueComplete(llhttp_t* p) { return self(p).head_.endValue() ? 0 : -1; }
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
  head_.release();
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
  if (kind_ == Kind::Response) status_code_ = llhttp_get_status_code(parser_.get());
  if (kind_ == Kind::Request) {
    request_.method =
        llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(parser_.get())));
    detail::splitTarget(head_.url(), request_.path, request_.query);
  }
  head_.headers(request_.headers);
}

}  // namespace wman
