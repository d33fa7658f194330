// parseSize / parseDuration: every accepted spelling and the near misses around it.
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "wman/config.h"

using wman::Duration;
using wman::parseDuration;
using wman::parseSize;

TEST_CASE("parseSize accepts bytes and binary units", "[config][units]") {
  struct Row {
    const char* text;
    std::uint64_t bytes;
  };
  const Row rows[] = {
      {"0", 0},
      {"512", 512},
      {"512B", 512},
      {"512b", 512},
      {"4k", 4096},
      {"4K", 4096},
      {"4KB", 4096},
      {"64KiB", 64 * 1024},
      {"64kib", 64 * 1024},
      {"1M", 1024 * 1024},
      {"1MB", 1024 * 1024},
      {"1MiB", 1024 * 1024},
      {"10MiB", 10 * 1024 * 1024},
      {"2G", 2ull << 30},
      {"2GiB", 2ull << 30},
      {"3gb", 3ull << 30},
      {" 16 KiB ", 16 * 1024},
      {"18446744073709551615", UINT64_MAX},
      {"17179869183G", 17179869183ull << 30},
  };
  for (const Row& row : rows) {
    INFO("text: '" << row.text << "'");
    const auto v = parseSize(row.text);
    REQUIRE(v.has_value());
    CHECK(*v == row.bytes);
  }
}

TEST_CASE("parseSize rejects anything else", "[config][units]") {
  const char* bad[] = {
      "",
      "  ",
      "KiB",
      "-1",
      "+1",
      "1.5MiB",
      "1 M iB",
      "1MX",
      "1TiB",
      "1KiBs",
      "0x10",
      "1e3",
      "ten",
      "1,024",
      "1_024",
      "M1",
      "18446744073709551616",  // 2^64
      "17179869184G",          // 2^64 after the shift
  };
  for (const char* text : bad) {
    INFO("text: '" << text << "'");
    CHECK_FALSE(parseSize(text).has_value());
  }
}

TEST_CASE("parseDuration accepts ms, s, m, h and bare seconds", "[config][units]") {
  struct Row {
    const char* text;
    std::int64_t ms;
  };
  const Row rows[] = {
      {"0", 0},
      {"30", 30000},
      {"30s", 30000},
      {"30S", 30000},
      {"250ms", 250},
      {"250MS", 250},
      {"0ms", 0},
      {"2m", 120000},
      {"1h", 3600000},
      {"1.5s", 1500},
      {"0.25s", 250},
      {"1.5m", 90000},
      {"0.5h", 1800000},
      {"1.0009s", 1000},
      {"2.5ms", 2},
      {" 5 s ", 5000},
      {"9223372036854775807ms", INT64_MAX},
  };
  for (const Row& row : rows) {
    INFO("text: '" << row.text << "'");
    const auto v = parseDuration(row.text);
    REQUIRE(v.has_value());
    CHECK(v->count() == row.ms);
  }
}

TEST_CASE("parseDuration rejects anything else", "[config][units]") {
  const char* bad[] = {
      "",
      "s",
      "-1s",
      "+1s",
      "1d",
      "1sec",
      "1 m s",
      "1.s",
      ".5s",
      "1..5s",
      "1us",
      "1ns",
      "5x",
      "1e3ms",
      "1,5s",
      "ms5",
      "9223372036854775808ms",  // INT64_MAX + 1
      "9223372036854775807s",   // overflows once converted to ms
      "1.0000000001s",          // more fraction digits than we keep exactly
  };
  for (const char* text : bad) {
    INFO("text: '" << text << "'");
    CHECK_FALSE(parseDuration(text).has_value());
  }
}
