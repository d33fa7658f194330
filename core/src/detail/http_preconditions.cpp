#include "detail/http_preconditions.h"

#include <limits>
#include <string_view>

#include "wman/http.h"

namespace wman::detail {
namespace {

std::string_view trimWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Reads an unsigned decimal number that is all of `text` (at least one digit), saturating
// at the largest value instead of wrapping.
bool readPosition(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    out = out > (kMax - digit) / 10 ? kMax : out * 10 + digit;
  }
  return true;
}

// One range-spec of a single-range request, resolved against `size`.
ByteRange resolveSpec(std::string_view spec, std::uint64_t size) {
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  const std::string_view last_text = spec.substr(dash + 1);
  if (dash == 0) {
    // suffix-range: the final `n` bytes, all of them if the file is shorter.
    if (!readPosition(last_text, last)) return {};
    if (last == 0 || size == 0) return {RangeKind::Unsatisfiable};
    const std::uint64_t length = last < size ? last : size;
    return {RangeKind::Single, size - length, length};
  }
  if (!readPosition(spec.substr(0, dash), first)) return {};
  if (last_text.empty()) {
    last = std::numeric_limits<std::uint64_t>::max();
  } else if (!readPosition(last_text, last) || last < first) {
    return {};  // RFC 9110 14.1.1: last-pos below first-pos makes the range invalid
  }
  if (first >= size) return {RangeKind::Unsatisfiable};
  if (last >= size) last = size - 1;
  return {RangeKind::Single, first, last - first + 1};
}

}  // namespace

bool entityTagListMatches(std::string_view list, std::string_view etag, bool weak) {
  const bool etag_weak = etag.starts_with("W/");
  if (etag_weak) {
    if (!weak) return false;
    etag.remove_prefix(2);
  }
  std::size_t i = 0;
  while (i < list.size()) {
    const char c = list[i];
    if (c == ' ' || c == '\t' || c == ',') {
      ++i;
      continue;
    }
    if (c == '*') return true;
    const bool tag_weak = list.substr(i).starts_with("W/");
    if (tag_weak) i += 2;
    if (i >= list.size() || list[i] != '"') return false;
    // An entity tag's opaque part may hold commas but never a double quote.
    const std::size_t close = list.find('"', i + 1);
    if (close == std::string_view::npos) return false;
    const std::string_view tag = list.substr(i, close - i + 1);
    if ((weak || !tag_weak) && tag == etag) return true;
    i = close + 1;
  }
  return false;
}

ByteRange parseByteRange(std::string_view value, std::uint64_t size) {
  value = trimWhitespace(value);
  const std::size_t equals = value.find('=');
  // The range unit is case-insensitive (RFC 9110 14.1); "bytes" is the only one wman knows.
  if (equals == std::string_view::npos || !equalsIgnoreCase(value.substr(0, equals), "bytes")) {
    return {};
  }
  std::string_view set = value.substr(equals + 1);
  std::string_view only_spec;
  int specs = 0;
  while (!set.empty()) {
    const std::size_t comma = set.find(',');
    const std::string_view spec = trimWhitespace(set.substr(0, comma));
    set = comma == std::string_view::npos ? std::string_view() : set.substr(comma + 1);
    if (spec.empty()) continue;  // the list rule allows empty elements (RFC 9110 5.6.1)
    // Every spec must be well formed, even those a multi-range answer will not look at.
    if (resolveSpec(spec, std::numeric_limits<std::uint64_t>::max()).kind == RangeKind::None) {
      return {};
    }
    only_spec = spec;
    ++specs;
  }
  if (specs == 0) return {};
  if (specs > 1) return {RangeKind::Multiple};
  return resolveSpec(only_spec, size);
}

}  // namespace wman::detail
