#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cli.h"

using wman::daemon::parseCli;

namespace {
struct Args {
  std::vector<std::string> words;
  std::vector<char*> argv;
  explicit Args(std::vector<std::string> w) : words(std::move(w)) {
    for (auto& s : words) argv.push_back(s.data());
  }
  int argc() { return static_cast<int>(argv.size()); }
};
}  // namespace

TEST_CASE("every verb of the table parses, with and without -c") {
  for (const auto& verb : wman::daemon::kVerbs) {
    // send cannot go without a target and a message.
    const std::vector<std::string> rest = verb.flags & wman::daemon::kSend
                                              ? std::vector<std::string>{"--all", "hi"}
                                              : std::vector<std::string>{};
    std::vector<std::string> words{"wman", std::string(verb.name)};
    words.insert(words.end(), rest.begin(), rest.end());
    Args a(words);
    int code = -1;
    auto opts = parseCli(a.argc(), a.argv.data(), "/etc/wman/wman.toml", code);
    REQUIRE(opts);
    CHECK(opts->verb == verb.name);
    CHECK(opts->config_path == "/etc/wman/wman.toml");
    CHECK_FALSE(opts->config_given);

    words.insert(words.end(), {"-c", "/tmp/x.toml"});
    Args b(words);
    opts = parseCli(b.argc(), b.argv.data(), "/etc/wman/wman.toml", code);
    REQUIRE(opts);
    CHECK(opts->config_path == "/tmp/x.toml");
    CHECK(opts->config_given);
  }
}

TEST_CASE("usage errors exit non-zero, --version and --help exit zero") {
  int code = -1;
  Args none({"wman"});
  CHECK_FALSE(parseCli(none.argc(), none.argv.data(), "", code));
  CHECK(code != 0);
  Args bogus({"wman", "frobnicate"});
  CHECK_FALSE(parseCli(bogus.argc(), bogus.argv.data(), "", code));
  CHECK(code != 0);
  Args missing({"wman", "start", "-c"});
  CHECK_FALSE(parseCli(missing.argc(), missing.argv.data(), "", code));
  CHECK(code != 0);
  Args version({"wman", "--version"});
  CHECK_FALSE(parseCli(version.argc(), version.argv.data(), "", code));
  CHECK(code == 0);
  Args help({"wman", "--help"});
  CHECK_FALSE(parseCli(help.argc(), help.argv.data(), "", code));
  CHECK(code == 0);
}

TEST_CASE("connections takes --timeout in seconds within (0, 600]") {
  int code = -1;
  Args ok({"wman", "connections", "--timeout", "1.5", "--json"});
  auto opts = parseCli(ok.argc(), ok.argv.data(), "", code);
  REQUIRE(opts);
  CHECK(opts->timeout_s == 1.5);
  CHECK(opts->json);
  Args zero({"wman", "connections", "--timeout", "0"});
  CHECK_FALSE(parseCli(zero.argc(), zero.argv.data(), "", code));
  CHECK(code != 0);
  Args other({"wman", "status", "--timeout", "1"});
  CHECK_FALSE(parseCli(other.argc(), other.argv.data(), "", code));
  CHECK(code != 0);
}

TEST_CASE("send takes exactly one target and a message") {
  int code = -1;
  Args uid({"wman", "send", "--uid", "alice", "hello there"});
  auto opts = parseCli(uid.argc(), uid.argv.data(), "", code);
  REQUIRE(opts);
  CHECK(opts->send_target == "uid");
  CHECK(opts->send_name == "alice");
  CHECK(opts->message == "hello there");
  Args all({"wman", "send", "--all", "x"});
  opts = parseCli(all.argc(), all.argv.data(), "", code);
  REQUIRE(opts);
  CHECK(opts->send_target == "all");
  for (std::vector<std::string> bad : {std::vector<std::string>{"wman", "send", "hi"},
                                       {"wman", "send", "--uid", "a", "--group", "g", "hi"},
                                       {"wman", "send", "--group", "g"}}) {
    Args b(bad);
    CHECK_FALSE(parseCli(b.argc(), b.argv.data(), "", code));
    CHECK(code != 0);
  }
}
