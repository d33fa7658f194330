// Helpers shared by the config tests: a scratch directory, error formatting and tables of
// rejected URLs.
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

}  // namespace wman::test
