// Size and duration strings as written in config files ("64KiB", "250ms").
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "wman/config.h"

namespace wman {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Reads leading decimal digits into `out`; false on overflow or when there are none.
bool takeDigits(std::string_view& s, std::uint64_t& out, std::size_t* count = nullptr) {
  std::size_t i = 0;
  out = 0;
  for (; i < s.size() && isDigit(s[i]); ++i) {
    const std::uint64_t d = static_cast<std::uint64_t>(s[i] - '0');
    if (out > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    out = out * 10 + d;
  }
  if (count) *count = i;
  s.remove_prefix(i);
  return i > 0;
}

}  // namespace

std::optional<std::uint64_t> parseSize(std::string_view text) {
  std::string_view s = trim(text);
  std::uint64_t value = 0;
  if (!takeDigits(s, value)) return std::nullopt;
  const std::string_view unit = trim(s);

  struct Unit {
    std::string_view name;
    unsigned shift;
  };
  // Every unit is a power of 1024: a limit written "1MB" is meant as a buffer size, and
  // silently using 10^6 would make "1MB" and "1MiB" limits differ for no benefit.
  static constexpr Unit kUnits[] = {
      {"", 0},    {"b", 0},    {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20},
      {"mb", 20}, {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30},
  };
  for (const Unit& u : kUnits) {
    if (!equalsIgnoreCase(unit, u.name)) continue;
    if (u.shift > 0 && value > (std::numeric_limits<std::uint64_t>::max() >> u.shift))
      return std::nullopt;
    return value << u.shift;
  }
  return std::nullopt;
}

std::optional<Duration> parseDuration(std::string_view text) {
  std::string_view s = trim(text);
  std::uint64_t whole = 0;
  if (!takeDigits(s, whole)) return std::nullopt;

  // The fraction is kept as an exact decimal (digits and their count) so "1.5s" is exactly
  // 1500 ms without going through floating point.
  std::uint64_t frac = 0;
  std::size_t frac_digits = 0;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    if (!takeDigits(s, frac, &frac_digits) || frac_digits > 9) return std::nullopt;
  }
  const std::string_view unit = trim(s);

  std::uint64_t ms_per_unit = 0;
  if (unit.empty() || equalsIgnoreCase(unit, "s")) {
    ms_per_unit = 1000;
  } else if (equalsIgnoreCase(unit, "ms")) {
    ms_per_unit = 1;
  } else if (equalsIgnoreCase(unit, "m")) {
    ms_per_unit = 60 * 1000;
  } else if (equalsIgnoreCase(unit, "h")) {
    ms_per_unit = 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }

  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  if (whole > kMax / ms_per_unit) return std::nullopt;
  std::uint64_t ms = whole * ms_per_unit;
  std::uint64_t scale = 1;
  for (std::size_t i = 0; i < frac_digits; ++i) scale *= 10;
  // frac < 10^9 and ms_per_unit <= 3.6e6, so the product fits in 64 bits. Sub-millisecond
  // remainders are dropped: 1 ms is the resolution of every timer in wman.
  const std::uint64_t frac_ms = frac * ms_per_unit / scale;
  if (ms > kMax - frac_ms) return std::nullopt;
  ms += frac_ms;
  return Duration{static_cast<Duration::rep>(ms)};
}

}  // namespace wman
