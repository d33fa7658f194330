// The control socket's JSON: what wman adds around nlohmann's parser and serializer (bounded
// nesting, unique keys, error text, a dump that never throws) and the tolerant readers.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "json_doc.h"

using namespace wman::daemon;

namespace {

Json parseOk(std::string_view text) {
  std::string error;
  auto v = parseJson(text, &error);
  INFO("input: " << text << " error: " << error);
  REQUIRE(v.has_value());
  return *v;
}

std::string parseError(std::string_view text) {
  std::string error;
  auto v = parseJson(text, &error);
  INFO("input: " << text);
  REQUIRE_FALSE(v.has_value());
  return error;
}

}  // namespace

TEST_CASE("json_doc: documents print compactly in insertion order", "[json]") {
  Json o = Json::object({{"b", 1}, {"a", false}});
  o["c"] = Json::array({1, "two"});
  o["b"] = "replaced";
  CHECK(dumpJson(o) == R"({"b":"replaced","a":false,"c":[1,"two"]})");
  const char* texts[] = {R"({"cmd":"status","graceful":true})", "[1,-2,0.5,null,\"x\"]",
                         R"({"z":{"y":[]},"a":{}})", "2.0", "1e+21"};
  for (const char* t : texts) CHECK(dumpJson(parseOk(t)) == t);
  CHECK(dumpJson(parseOk(" \t\r\n{ \"a\" :\n[ 1 , 2 ] }\n ")) == R"({"a":[1,2]})");
}

TEST_CASE("json_doc: dump escapes controls and DEL, and never emits a raw newline", "[json]") {
  CHECK(dumpJson(Json("a\nb\t\"\\\x01\x7f/")) == R"("a\nb\t\"\\\u0001\u007f/")");
  CHECK(dumpJson(Json::object({{"k\x7f", "\x7f\x7f"}})) == R"({"k\u007f":"\u007f\u007f"})");
  CHECK(dumpJson(Json("h\xC3\xA9")) == "\"h\xC3\xA9\"");
  CHECK(dumpJson(Json(std::numeric_limits<double>::infinity())) == "null");
  CHECK(dumpJson(Json(std::nan(""))) == "null");
}

TEST_CASE("json_doc: dump replaces invalid UTF-8 instead of throwing", "[json]") {
  const std::string out = dumpJson(Json::object({{"error", "bad \xff\xfe end"}}));
  CHECK(out.find("\xEF\xBF\xBD") != std::string::npos);
  CHECK(out.find('\xff') == std::string::npos);
  CHECK(parseJson(out).has_value());
}

TEST_CASE("json_doc: errors give a reason and a byte offset", "[json]") {
  const std::string e = parseError("not json");
  CHECK(e.find("invalid literal") != std::string::npos);
  CHECK(e.find("at byte ") != std::string::npos);
  CHECK(e.find("json.exception") == std::string::npos);
  CHECK(parseError("").find("unexpected end of input") != std::string::npos);
  CHECK(parseError("{\"a\":1,}").find("at byte 7") != std::string::npos);
  CHECK_FALSE(parseJson("{} x"));
  CHECK_FALSE(parseJson("[1,]"));
  CHECK_FALSE(parseJson("\"\xff\""));
  CHECK_FALSE(parseJson(R"("\ud800")"));
  CHECK_FALSE(parseJson("// c\n1"));
}

TEST_CASE("json_doc: every proper prefix of a document is an error", "[json]") {
  const std::string doc = R"({"cmd":"connections","page_size":10,"x":[true,null,-1.5e3]})";
  for (std::size_t n = 0; n < doc.size(); ++n) CHECK_FALSE(parseJson(doc.substr(0, n)));
  CHECK(parseJson(doc));
}

TEST_CASE("json_doc: nesting is limited, duplicate keys are refused", "[json]") {
  auto arrays = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  CHECK(parseJson(arrays(kJsonMaxDepth)));
  CHECK(parseError(arrays(kJsonMaxDepth + 1)) == "nesting deeper than 64");
  CHECK(parseError(std::string(100000, '[')) == "nesting deeper than 64");
  CHECK(parseError(R"({"cmd":"a","x":{"cmd":1},"cmd":"b"})") == "duplicate key \"cmd\"");
  CHECK(parseJson(R"([{"a":1},{"a":2}])"));
}

TEST_CASE("json_doc: readers fall back on a missing member or the wrong type", "[json]") {
  const Json doc = parseOk(R"({"i":5,"neg":-3,"d":2.9,"big":18446744073709551615,
    "s":"x","b":true,"a":[1,2],"o":{"k":1}})");
  CHECK(asInt(member(doc, "i")) == 5);
  CHECK(asInt(member(doc, "neg")) == -3);
  CHECK(asInt(member(doc, "d")) == 2);
  CHECK(isInt(member(doc, "i")));
  CHECK_FALSE(isInt(member(doc, "d")));
  CHECK_FALSE(isInt(member(doc, "big")));  // above INT64_MAX: not an exact int64
  CHECK(isDouble(member(doc, "big")));
  CHECK(asInt(member(doc, "s"), -1) == -1);
  CHECK(asInt(Json(1e300), -1) == -1);
  CHECK(asInt(Json(std::nan("")), -1) == -1);
  CHECK(asString(member(doc, "s")) == "x");
  CHECK(asString(member(doc, "i")).empty());
  CHECK(asBool(member(doc, "b")));
  CHECK(asBool(member(doc, "missing"), true));
  CHECK(asDouble(member(doc, "i")) == 5.0);
  CHECK(member(doc, "missing").is_null());
  CHECK(member(Json(42), "i").is_null());
  CHECK(elements(member(doc, "a")).size() == 2);
  CHECK(elements(member(doc, "o")).empty());  // an object's values are not its elements
  CHECK(elements(member(doc, "s")).empty());
}
