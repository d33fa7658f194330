#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "json.h"

using wman::daemon::Json;
using wman::daemon::parseJson;

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

TEST_CASE("json: constructors pick the right type") {
  CHECK(Json().isNull());
  CHECK(Json(nullptr).isNull());
  CHECK(Json(true).asBool());
  CHECK(Json(42).isInt());
  CHECK(Json(42).asInt() == 42);
  CHECK(Json(-7L).asInt() == -7);
  CHECK(Json(std::uint16_t{9}).isInt());
  CHECK(Json(1.5).isDouble());
  CHECK(Json(1.5f).asDouble() == 1.5);
  CHECK(Json("x").asString() == "x");
  CHECK(Json(std::string("y")).asString() == "y");
  CHECK(Json(std::string_view("z")).asString() == "z");
  // Above INT64_MAX an unsigned value cannot be an Int; it must not wrap negative.
  Json big(std::numeric_limits<std::uint64_t>::max());
  CHECK(big.isDouble());
  CHECK(big.asDouble() > 1.8e19);
  CHECK(Json(std::uint64_t{INT64_MAX}).isInt());
}

TEST_CASE("json: accessors fall back on the wrong type") {
  CHECK(Json("5").asInt(-1) == -1);
  CHECK(Json(7).asDouble() == 7.0);
  CHECK(Json(2.9).asInt() == 2);
  CHECK(Json(-2.9).asInt() == -2);
  CHECK(Json(std::nan("")).asInt(-1) == -1);
  CHECK(Json(1e300).asInt(-1) == -1);
  CHECK(Json(3).asString().empty());
  CHECK(Json(3).asBool(true));
  CHECK(Json(3).size() == 0);
  CHECK(Json(3)["a"].isNull());
  CHECK(Json(3).at(0).isNull());
  CHECK(Json::array().push_back(1).at(1).isNull());
}

TEST_CASE("json: objects keep insertion order; set replaces in place or appends") {
  Json o = Json::object().set("b", 1).set("a", 2);
  o.set("b", "replaced");
  o.set("c", Json::array().push_back(1).push_back("two"));
  REQUIRE(o.size() == 3);
  CHECK(o.members()[0].first == "b");
  CHECK(o.members()[1].first == "a");
  CHECK(o.members()[2].first == "c");
  CHECK(o["b"].asString() == "replaced");
  CHECK(o["missing"].isNull());
  CHECK_FALSE(o.contains("missing"));
  REQUIRE(o.find("a") != nullptr);
  *o.find("a") = Json(false);
  CHECK(o.dump() == R"({"b":"replaced","a":false,"c":[1,"two"]})");

  Json n;
  n.set("k", 1);
  CHECK(n.isObject());
  Json a;
  a.push_back(nullptr);
  CHECK(a.dump() == "[null]");
}

TEST_CASE("json: canonical texts round-trip byte for byte") {
  const char* texts[] = {
      "null",
      "true",
      "false",
      "0",
      "-1",
      "123",
      "1.5",
      "-0.0",
      "1e+300",
      "0.001",
      R"("")",
      R"("a\"b\\c")",
      "[]",
      "{}",
      "[1,[2,[3,[]]]]",
      R"({"z":1,"a":2})",
      R"({"a":1,"b":[true,null],"c":{"d":"e"}})",
      R"(["\u0000\u001f\u007f"])",
  };
  for (const char* t : texts) CHECK(parseOk(t).dump() == t);
}

TEST_CASE("json: whitespace is accepted around tokens and dropped by dump") {
  CHECK(parseOk(" \t\r\n{ \"a\" :\n[ 1 , 2 ] }\n ").dump() == R"({"a":[1,2]})");
}

TEST_CASE("json: a built document survives dump and parse") {
  Json doc = Json::object()
                 .set("s", "line1\nline2\ttab \"q\" \\ / é €")
                 .set("i", std::numeric_limits<std::int64_t>::min())
                 .set("d", 0.1)
                 .set("n", nullptr)
                 .set("a", Json::array().push_back(Json::object()).push_back(-3.25e-10));
  Json back = parseOk(doc.dump());
  CHECK(back == doc);
  CHECK(back["d"].asDouble() == 0.1);
}

TEST_CASE("json: string escapes decode") {
  CHECK(parseOk(R"("\"\\\/\b\f\n\r\t")").asString() == "\"\\/\b\f\n\r\t");
  CHECK(parseOk(R"("\u0041")").asString() == "A");
  CHECK(parseOk(R"("\u00e9\u00E9")").asString() == "\xC3\xA9\xC3\xA9");
  CHECK(parseOk(R"("\u20ac")").asString() == "\xE2\x82\xAC");
  CHECK(parseOk(R"("\ud83d\ude00")").asString() == "\xF0\x9F\x98\x80");
  CHECK(parseOk(R"("\uDBFF\uDFFF")").asString() == "\xF4\x8F\xBF\xBF");
  std::string nul = parseOk(R"("a\u0000b")").asString();
  CHECK(nul == std::string("a\0b", 3));
  CHECK(parseOk("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").asString() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST_CASE("json: dump escapes every control character and never emits a raw newline") {
  std::string all;
  for (int c = 0; c < 0x20; ++c) all += static_cast<char>(c);
  all += '\x7f';
  all += "\xE2\x80\xA8";  // U+2028 stays raw UTF-8: it is not a line break byte.
  const std::string out = Json::array().push_back(all).push_back("\r\n").dump();
  for (char c : out) {
    INFO("byte " << static_cast<int>(static_cast<unsigned char>(c)));
    CHECK(static_cast<unsigned char>(c) >= 0x20);
  }
  CHECK(out.find("\\n") != std::string::npos);
  CHECK(out.find("\\u0001") != std::string::npos);
  CHECK(parseOk(out).at(0).asString() == all);

  // A pretty-printed, multi-line request becomes one line.
  CHECK(parseOk("{\n  \"cmd\": \"status\",\n  \"args\": [\n    1\n  ]\n}\n").dump() ==
        R"({"cmd":"status","args":[1]})");
}

TEST_CASE("json: dump replaces invalid UTF-8 so its output always parses") {
  const std::string out = Json(
                              "a\xFF"
                              "b\xC3")
                              .dump();
  CHECK(out ==
        "\"a\xEF\xBF\xBD"
        "b\xEF\xBF\xBD\"");
  CHECK(parseJson(out).has_value());
}

TEST_CASE("json: integers are int64 when they fit, doubles otherwise") {
  Json max = parseOk("9223372036854775807");
  CHECK(max.isInt());
  CHECK(max.asInt() == std::numeric_limits<std::int64_t>::max());
  Json min = parseOk("-9223372036854775808");
  CHECK(min.isInt());
  CHECK(min.asInt() == std::numeric_limits<std::int64_t>::min());
  CHECK(min.dump() == "-9223372036854775808");

  Json over = parseOk("9223372036854775808");
  CHECK(over.isDouble());
  CHECK(over.asDouble() == 9223372036854775808.0);
  Json under = parseOk("-9223372036854775809");
  CHECK(under.isDouble());
  CHECK(under.asDouble() == -9223372036854775808.0);

  CHECK(parseOk("-5").asInt() == -5);
  CHECK(parseOk("0").isInt());
  CHECK(parseOk("1e3").isDouble());
  CHECK(parseOk("1e3").asDouble() == 1000.0);
  CHECK(parseOk("1E-2").asDouble() == 0.01);
  CHECK(parseOk("2.5e+1").asDouble() == 25.0);
  CHECK(parseOk("-1.5").asDouble() == -1.5);
  CHECK(parseOk("1.7976931348623157e308").asDouble() == std::numeric_limits<double>::max());
  CHECK(parseOk("5e-324").asDouble() > 0.0);
}

TEST_CASE("json: negative zero keeps its sign") {
  Json z = parseOk("-0");
  CHECK(z.isDouble());
  CHECK_FALSE(z.isInt());
  CHECK(std::signbit(z.asDouble()));
  CHECK(z.asInt() == 0);
  CHECK(z.dump() == "-0.0");
  CHECK(std::signbit(parseOk("-0.0").asDouble()));
  CHECK(parseOk("0").dump() == "0");
}

TEST_CASE("json: doubles dump so they parse back as doubles; non-finite becomes null") {
  CHECK(Json(2.0).dump() == "2.0");
  CHECK(parseOk(Json(2.0).dump()).isDouble());
  CHECK(Json(0.1).dump() == "0.1");
  CHECK(Json(1e21).dump() == "1e+21");
  CHECK(Json(std::numeric_limits<double>::infinity()).dump() == "null");
  CHECK(Json(-std::numeric_limits<double>::infinity()).dump() == "null");
  CHECK(Json(std::nan("")).dump() == "null");
}

TEST_CASE("json: numbers outside the grammar are rejected") {
  const char* bad[] = {"01",  "-",        "+1",        "1.",    ".5",  "1e",    "1e+",    "0x10",
                       "NaN", "Infinity", "-Infinity", "1.5.3", "--1", "1e400", "-1e400", "1e-400"};
  for (const char* t : bad) {
    INFO(t);
    CHECK_FALSE(parseJson(t).has_value());
  }
  CHECK(parseError("01") == "leading zero in number at byte 0");
  CHECK(parseError("[1.]") == "expected digit after '.' at byte 3");
  CHECK(parseError("1e+") == "expected digit in exponent at byte 3");
  CHECK(parseError("1e400") == "number out of range at byte 0");
}

TEST_CASE("json: errors name the reason and the byte offset") {
  struct Case {
    std::string input;
    std::string error;
  };
  const Case cases[] = {
      {"", "unexpected end of input at byte 0"},
      {"   ", "unexpected end of input at byte 3"},
      {"[1,2", "unexpected end of input at byte 4"},
      {R"({"a":)", "unexpected end of input at byte 5"},
      {R"("abc)", "unterminated string at byte 0"},
      {"\"ab\\", "unterminated string at byte 3"},
      {"[1,]", "trailing comma at byte 3"},
      {R"({"a":1,})", "trailing comma at byte 7"},
      {R"("\x")", "invalid escape at byte 1"},
      {R"("\u12G4")", "invalid \\u escape at byte 1"},
      {R"("\u12")", "invalid \\u escape at byte 1"},
      {R"("\ud800")", "lone high surrogate at byte 1"},
      {R"("\ud800\u0041")", "lone high surrogate at byte 1"},
      {R"("\udc00")", "lone low surrogate at byte 1"},
      {"1 2", "unexpected trailing characters at byte 2"},
      {"{} x", "unexpected trailing characters at byte 3"},
      {"[1 2]", "expected ',' or ']' at byte 3"},
      {R"({"a":1 "b":2})", "expected ',' or '}' at byte 7"},
      {R"({"a" 1})", "expected ':' after key at byte 5"},
      {"{1:2}", "expected string key at byte 1"},
      {"tru", "invalid literal at byte 0"},
      {"[nul]", "invalid literal at byte 1"},
      {"True", "unexpected 'T' at byte 0"},
      {"'a'", "unexpected ''' at byte 0"},
      {"// c\n1", "unexpected '/' at byte 0"},
      {"\"a\nb\"", "control character in string at byte 2"},
      {R"({"a":1,"b":2,"a":3})", "duplicate key \"a\" at byte 13"},
      {R"({"b":1,"a":2,"a":3,"b":4})", "duplicate key \"a\" at byte 13"},
      {"\xEF\xBB\xBF{}", "unexpected byte 0xEF at byte 0"},
      {std::string("[1]\0", 4), "unexpected trailing characters at byte 3"},
      {"\"\xC3\x28\"", "invalid UTF-8 in string at byte 1"},
      {"\"\xC0\xAF\"", "invalid UTF-8 in string at byte 1"},
      {"\"\xE0\x80\xAF\"", "invalid UTF-8 in string at byte 1"},
      {"\"\xF0\x80\x80\xAF\"", "invalid UTF-8 in string at byte 1"},
      {"\"\xED\xA0\x80\"", "invalid UTF-8 in string at byte 1"},
      {"\"\xF4\x90\x80\x80\"", "invalid UTF-8 in string at byte 1"},
      {"\"ab\xE2\x82\"", "invalid UTF-8 in string at byte 3"},
      {"\"\xE2\x82", "invalid UTF-8 in string at byte 1"},
  };
  for (const Case& c : cases) {
    INFO("input: " << c.input);
    CHECK(parseError(c.input) == c.error);
  }
  CHECK_FALSE(parseJson("[", nullptr).has_value());
}

TEST_CASE("json: every proper prefix of a document is an error") {
  const std::string doc = R"({"cmd":"reload","args":{"graceful":true,"n":[1,-2.5e3,null]}})";
  REQUIRE(parseJson(doc).has_value());
  for (std::size_t k = 0; k < doc.size(); ++k) {
    INFO("prefix length " << k);
    CHECK_FALSE(parseJson(doc.substr(0, k)).has_value());
  }
}

TEST_CASE("json: nesting is limited to 64 levels") {
  auto arrays = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  auto objects = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += R"({"a":)";
    return s + "1" + std::string(n, '}');
  };
  CHECK(parseJson(arrays(64)).has_value());
  CHECK(parseError(arrays(65)) == "nesting deeper than 64 at byte 64");
  CHECK(parseJson(objects(64)).has_value());
  CHECK(parseError(objects(65)) == "nesting deeper than 64 at byte 320");
  CHECK(parseError("[" + objects(64) + "]") == "nesting deeper than 64 at byte 316");
  // Far deeper input must fail fast instead of exhausting the stack.
  CHECK_FALSE(parseJson(std::string(1000000, '[')).has_value());
}

TEST_CASE("json: equality compares numbers by value and objects in order") {
  CHECK(Json(1) == Json(1.0));
  CHECK(Json(1.0) == Json(1));
  CHECK_FALSE(Json(1) == Json(1.5));
  CHECK_FALSE(Json(std::numeric_limits<std::int64_t>::max()) == Json(9223372036854775808.0));
  CHECK_FALSE(Json(1) == Json("1"));
  CHECK(parseOk(R"({"a":1,"b":2})") == Json::object().set("a", 1).set("b", 2));
  CHECK_FALSE(parseOk(R"({"b":2,"a":1})") == Json::object().set("a", 1).set("b", 2));
}

TEST_CASE("json: a large flat object parses and rejects a late duplicate") {
  std::string s = "{";
  for (int i = 0; i < 20000; ++i)
    s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  CHECK(parseOk(s + "}")["k19999"].asInt() == 19999);
  CHECK(parseError(s + ",\"k5\":0}").find("duplicate key \"k5\"") == 0);
}
