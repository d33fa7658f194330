// parseRedisReply, formatRedisCommand and parseRedisUrl: the pure helpers around the codec.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "wman/redis_reply.h"
#include "wman/redis_url.h"

using namespace wman;
using namespace std::string_literals;

TEST_CASE("formatRedisCommand builds binary-safe bulk strings") {
  CHECK(formatRedisCommand({"SET", "k\0y"s, "v\r\n"}) ==
        "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$3\r\nv\r\n\r\n"s);
  CHECK(formatRedisCommand({"PUBLISH", "ch", ""}) ==
        "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$0\r\n\r\n");
  std::vector<std::string_view> none;
  CHECK_THROWS_AS(formatRedisCommand(none), std::invalid_argument);
}

TEST_CASE("parseRedisReply reads each type") {
  auto parse = [](std::string_view wire) { return parseRedisReply(asBytes(wire)); };
  CHECK(parse("+OK\r\n")->is("OK"));
  CHECK(parse("-ERR no\r\n")->isError());
  CHECK(parse("-ERR no\r\n")->str == "ERR no");
  CHECK(parse(":-7\r\n")->integer == -7);
  CHECK(parse("$-1\r\n")->type == RedisReply::Type::Nil);
  CHECK(parse("*-1\r\n")->type == RedisReply::Type::Nil);
  CHECK(parse("$2\r\n\r\n\r\n")->str == "\r\n");
  const auto a = parse("*2\r\n$-1\r\n*1\r\n:3\r\n");
  REQUIRE(a);
  CHECK(a->elements[0].type == RedisReply::Type::Nil);
  CHECK(a->elements[1].elements[0].integer == 3);
}

TEST_CASE("parseRedisReply refuses what is not exactly one reply") {
  const auto [wire, why] = GENERATE(table<std::string, std::string>({
      {"", "empty input"},
      {"+OK", "incomplete reply"},
      {"+OK\r\n+OK\r\n", "bytes after the reply"},
      {"*1000\r\n:1\r\n", "array length out of range"},
      {"$100\r\nab\r\n", "incomplete reply"},
  }));
  INFO(wire);
  std::string error;
  CHECK(!parseRedisReply(asBytes(wire), &error));
  CHECK(error == why);
  CHECK(!parseRedisReply(asBytes("!x\r\n"), &error));
  CHECK(error.find("Protocol error") != std::string::npos);
}

TEST_CASE("parseRedisUrl accepts the documented forms") {
  auto u = parseRedisUrl("redis://127.0.0.1");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 6379);
  CHECK(u->db == 0);
  CHECK(!u->tls);
  CHECK(u->password.empty());

  u = parseRedisUrl("rediss://cache.internal:6380/3");
  REQUIRE(u);
  CHECK(u->tls);
  CHECK(u->port == 6380);
  CHECK(u->db == 3);
  CHECK(u->authority() == "cache.internal:6380");

  u = parseRedisUrl("redis://:p%40ss%3Aw@[::1]:7000/");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->password == "p@ss:w");
  CHECK(u->username.empty());
  CHECK(u->authority() == "[::1]:7000");

  u = parseRedisUrl("redis://bus:secret@h");
  REQUIRE(u);
  CHECK(u->username == "bus");
  CHECK(u->password == "secret");

  u = parseRedisUrl("redis://secret@h:1");
  REQUIRE(u);
  CHECK(u->password == "secret");
}

TEST_CASE("parseRedisUrl names what is wrong with a bad URL") {
  const auto [url, why] = GENERATE(table<std::string, std::string>({
      {"127.0.0.1:6379", "'127.0.0.1:6379' is not a URL (expected redis://host[:port][/db])"},
      {"http://h:1", "unsupported scheme 'http' (expected redis:// or rediss://)"},
      {"redis://", "missing host"},
      {"redis://:6379", "missing host"},
      {"redis://h:0", "port '0' is not a number from 1 to 65535"},
      {"redis://h:70000", "port '70000' is not a number from 1 to 65535"},
      {"redis://h:x", "port 'x' is not a number from 1 to 65535"},
      {"redis://h:", "empty port"},
      {"redis://h/db1", "database 'db1' is not a number from 0 up"},
      {"redis://h/-1", "database '-1' is not a number from 0 up"},
      {"redis://h?x=1", "query and fragment are not supported in a redis URL"},
      {"redis://[::1", "unclosed '[' in the host"},
      {"redis://:%zz@h", "bad percent-escape in the user or password"},
  }));
  INFO(url);
  std::string error;
  CHECK(!parseRedisUrl(url, &error));
  CHECK(error == why);
}
