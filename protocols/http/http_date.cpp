// HTTP-date (RFC 9110 5.6.7): writing the IMF-fixdate form for Date and Last-Modified, and
// reading the three forms a recipient must accept for If-Modified-Since and the like. Pure
// calendar arithmetic over seconds since 1970; the caller owns the clock.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wman/http.h"

namespace wman {
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

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void appendTwoDigits(std::int64_t v, std::string& out) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

// Calendar arithmetic by hand (the days-to-civil conversion of the proleptic Gregorian
// calendar, in 400-year eras) rather than <chrono>, which protocols/ keeps out as a clock.
std::string formatHttpDate(std::int64_t unix_seconds) {
  // 1970-01-01 was a Thursday.
  static constexpr std::string_view kWeekdays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  constexpr std::int64_t kDay = 86400;
  std::int64_t days = unix_seconds / kDay;
  std::int64_t secs = unix_seconds % kDay;
  if (secs < 0) {
    secs += kDay;
    --days;
  }
  const std::int64_t z = days + 719468;  // days since 0000-03-01
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  std::string out;
  out.append(kWeekdays[((days % 7) + 7) % 7]).append(", ");
  appendTwoDigits(day, out);
  out.append(" ").append(kMonths[month - 1]).append(" ");
  out.append(std::to_string(static_cast<std::uint64_t>(year)));
  out.push_back(' ');
  appendTwoDigits(secs / 3600, out);
  out.push_back(':');
  appendTwoDigits(secs / 60 % 60, out);
  out.push_back(':');
  appendTwoDigits(secs % 60, out);
  out.append(" GMT");
  return out;
}

std::optional<std::int64_t> parseHttpDate(std::string_view value) {
  DateReader in(trimSpaces(value));
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

}  // namespace wman
