// Helpers shared by the config tests: a scratch directory, error formatting and tables of
// invalid configs.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "wman/config.h"

namespace wman::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/wman-config-XXXXXX";
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `content` to `name` inside the directory and returns the full path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::string full = path_ + "/" + name;
    std::ofstream(full, std::ios::binary) << content;
    return full;
  }

 private:
  std::string path_;
};

// Every error of `result`, formatted, one per line: what a failing CHECK should show.
inline std::string formatErrors(const ConfigResult& result) {
  std::string out;
  for (const ConfigError& e : result.errors) out += e.format() + "\n";
  return out;
}

// The check the loader tests use when the files a config names do not exist.
inline ConfigCheck noFiles() {
  ConfigCheck c;
  c.check_files = false;
  return c;
}

// One URL a parser must refuse, and a substring of the reason it must give.
struct RejectedUrl {
  std::string url;
  const char* reason;
};

// Checks that `parse(url, &error)` refuses every row with its reason, on one line.
template <class Parse>
void checkRejected(Parse parse, const std::vector<RejectedUrl>& rows) {
  for (const RejectedUrl& row : rows) {
    INFO("url: " << row.url);
    std::string error;
    CHECK_FALSE(parse(row.url, &error).has_value());
    CHECK_THAT(error, Catch::Contains(row.reason));
    CHECK(error.find('\n') == std::string::npos);
  }
}

// One invalid config and every error it must produce.
struct Case {
  const char* what;
  std::string toml;
  std::vector<std::string> errors;  // every expected error, formatted, in order
  bool check_files = false;
};

// Parses each case as "bad.toml" and checks that exactly its errors come out, in order.
inline void runCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO("case: " << c.what << "\n--- config ---\n" << c.toml << "--------------");
    ConfigCheck check;
    check.check_files = c.check_files;
    const auto result = parseConfig(c.toml, "bad.toml", check);
    INFO("got:\n" << formatErrors(result));
    CHECK_FALSE(result.ok());
    CHECK_FALSE(result.config.has_value());
    std::vector<std::string> got;
    for (const auto& e : result.errors) got.push_back(e.format());
    CHECK(got == c.errors);
  }
}

}  // namespace wman::test
