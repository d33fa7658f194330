// The plain-data helpers declared in wman/http.h.
#include "wman/http.h"

namespace wman {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(item) for each comma-separated item of `list`, trimmed; stops when f returns true.
template <typename F>
bool anyListItem(std::string_view list, std::string_view separators, F&& f) {
  while (true) {
    const std::size_t end = list.find_first_of(separators);
    if (f(trim(list.substr(0, end)))) return true;
    if (end == std::string_view::npos) return false;
    list.remove_prefix(end + 1);
  }
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool headerListHas(std::string_view list, std::string_view token) {
  return anyListItem(list, ",",
                     [token](std::string_view item) { return equalsIgnoreCase(item, token); });
}

std::vector<HttpHeader> parseCookies(std::string_view value) {
  std::vector<HttpHeader> out;
  anyListItem(value, ";", [&out](std::string_view item) {
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string_view name = trim(item.substr(0, eq));
    std::string_view v = trim(item.substr(eq + 1));
    // RFC 6265 4.1.1 allows a value in double quotes; the quotes are not part of it.
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (!name.empty()) out.emplace_back(name, v);
    return false;
  });
  return out;
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return {};
}

bool HttpRequest::hasHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (equalsIgnoreCase(h.first, name)) return true;
  }
  return false;
}

std::vector<HttpHeader> HttpRequest::cookies() const {
  std::vector<HttpHeader> out;
  for (const auto& [key, value] : headers) {
    if (!equalsIgnoreCase(key, "Cookie")) continue;
    const std::vector<HttpHeader> line = parseCookies(value);
    out.insert(out.end(), line.begin(), line.end());
  }
  return out;
}

std::string_view HttpRequest::cookie(std::string_view name) const {
  for (const auto& [key, value] : cookies()) {
    if (key == name) return value;
  }
  return {};
}

void HttpResponseHead::set(std::string_view name, std::string_view value) {
  remove(name);
  add(name, value);
}

void HttpResponseHead::add(std::string_view name, std::string_view value) {
  headers.emplace_back(std::string(name), std::string(value));
}

void HttpResponseHead::remove(std::string_view name) {
  std::erase_if(headers, [name](const auto& h) { return equalsIgnoreCase(h.first, name); });
}

std::string_view HttpResponseHead::get(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return {};
}

// RFC 9110 section 15, the codes an application or the codec is likely to send.
constexpr std::pair<int, std::string_view> kReasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {426, "Upgrade Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

std::string_view httpReasonPhrase(int status) {
  for (const auto& [code, text] : kReasons) {
    if (code == status) return text;
  }
  return {};
}

}  // namespace wman
