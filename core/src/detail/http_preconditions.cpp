#include "detail/http_preconditions.h"

#include <limits>
#include <string_view>

#include "wman/http.h"

namespace wman::detail {
namespace {

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct CivilTime {
  int year = 0;
  int month = 0;  // 1-12
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// A cursor over a date's text; each reader consumes what it matched and returns false on a
// mismatch, leaving the whole parse to fail.
class DateReader {
 public:
  explicit DateReader(std::string_view text) : rest_(text) {}

  bool atEnd() const { return rest_.empty(); }
  bool peek(char c) const { return !rest_.empty() && rest_.front() == c; }

  bool literal(std::string_view text) {
    if (!rest_.starts_with(text)) return false;
    rest_.remove_prefix(text.size());
    return true;
  }

  // A day name: ASCII letters, at least three. Its value does not matter (the date fixes
  // the weekday), so it is not checked against the calendar.
  bool dayName() {
    std::size_t n = 0;
    while (n < rest_.size() && ((rest_[n] | 0x20) >= 'a' && (rest_[n] | 0x20) <= 'z')) ++n;
    rest_.remove_prefix(n);
    return n >= 3;
  }

  bool digits(std::size_t count, int& out) {
    if (rest_.size() < count) return false;
    out = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (rest_[i] < '0' || rest_[i] > '9') return false;
      out = out * 10 + (rest_[i] - '0');
    }
    rest_.remove_prefix(count);
    return true;
  }

  bool month(int& out) {
    for (int i = 0; i < 12; ++i) {
      if (literal(kMonths[i])) {
        out = i + 1;
        return true;
      }
    }
    return false;
  }

  // "hh:mm:ss"
  bool time(CivilTime& t) {
    return digits(2, t.hour) && literal(":") && digits(2, t.minute) && literal(":") &&
           digits(2, t.second);
  }

 private:
  std::string_view rest_;
};

bool isLeapYear(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int daysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeapYear(year) ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to the given proleptic Gregorian date, counting years from March so
// that the leap day falls at the end of a counted year.
std::int64_t daysSinceEpoch(int year, int month, int day) {
  const std::int64_t y = year - (month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t year_of_era = y - era * 400;
  const std::int64_t shifted_month = month > 2 ? month - 3 : month + 9;
  const std::int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

std::optional<std::int64_t> toUnixSeconds(const CivilTime& t) {
  // Second 60 is a leap second, which RFC 9110 5.6.7 allows.
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > daysInMonth(t.year, t.month) ||
      t.hour > 23 || t.minute > 59 || t.second > 60) {
    return std::nullopt;
  }
  return daysSinceEpoch(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

// After "Sun, ": "06 Nov 1994 08:49:37 GMT" (IMF-fixdate) or "06-Nov-94 08:49:37 GMT".
bool readCommaForm(DateReader& in, CivilTime& t) {
  if (!in.digits(2, t.day)) return false;
  if (in.literal(" ")) {
    return in.month(t.month) && in.literal(" ") && in.digits(4, t.year) && in.literal(" ") &&
           in.time(t) && in.literal(" GMT");
  }
  if (!in.literal("-") || !in.month(t.month) || !in.literal("-") || !in.digits(2, t.year)) {
    return false;
  }
  t.year += t.year < 70 ? 2000 : 1900;
  return in.literal(" ") && in.time(t) && in.literal(" GMT");
}

// After "Sun ": "Nov  6 08:49:37 1994" (asctime).
bool readAsctimeForm(DateReader& in, CivilTime& t) {
  if (!in.month(t.month) || !in.literal(" ")) return false;
  const bool one_digit = in.literal(" ");
  return in.digits(one_digit ? 1 : 2, t.day) && in.literal(" ") && in.time(t) && in.literal(" ") &&
         in.digits(4, t.year);
}

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

std::optional<std::int64_t> parseHttpDate(std::string_view value) {
  DateReader in(trimWhitespace(value));
  CivilTime t;
  if (!in.dayName()) return std::nullopt;
  bool ok = false;
  if (in.literal(", ")) {
    ok = readCommaForm(in, t);
  } else if (in.literal(" ")) {
    ok = readAsctimeForm(in, t);
  }
  if (!ok || !in.atEnd()) return std::nullopt;
  return toUnixSeconds(t);
}

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
