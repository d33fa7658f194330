#include "http/http_head_collector.h"

#include <algorithm>

namespace wman::detail {

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void splitTarget(std::string_view target, std::string_view& path, std::string_view& query) {
  target = target.substr(0, target.find('#'));
  const std::size_t q = target.find('?');
  path = target.substr(0, q);
  query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

void HttpHeadCollector::appendUrl(const char* at, std::size_t n) {
  if (url_.size == 0) url_.offset = storage_.size();
  storage_.append(at, n);
  url_.size += n;
}

bool HttpHeadCollector::appendName(const char* at, std::size_t n) {
  if (n == 0) return true;  // a header exists once a byte of its name does
  if (!std::all_of(at, at + n, isTokenChar)) return false;
  if (new_header_) {
    headers_.push_back({{storage_.size(), 0}, {}});
    new_header_ = false;
  }
  storage_.append(at, n);
  headers_.back().name.size += n;
  return true;
}

bool HttpHeadCollector::appendValue(const char* at, std::size_t n) {
  if (new_header_) return false;
  Span& v = headers_.back().value;
  if (v.size == 0) v.offset = storage_.size();
  storage_.append(at, n);
  v.size += n;
  return true;
}

bool HttpHeadCollector::endValue() {
  const bool named = !new_header_;
  new_header_ = true;
  return named;
}

std::string_view HttpHeadCollector::url() const {
  return view(url_);
}

std::string_view HttpHeadCollector::view(Span s) const {
  std::string_view v = std::string_view(storage_).substr(s.offset, s.size);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

void HttpHeadCollector::clear() {
  storage_.clear();
  url_ = {};
  headers_.clear();
  new_header_ = true;
}

void HttpHeadCollector::release() {
  std::string().swap(storage_);
  url_ = {};
  std::vector<HeaderSpans>().swap(headers_);
  new_header_ = true;
}

}  // namespace wman::detail
