// permessage-deflate negotiation (RFC 7692 section 7): which offer is accepted and what the
// server answers, including declined offers and the server's own limits.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/deflate_negotiation.h"

namespace wman::ws {
namespace {

// The response header, or "" when no offer is accepted.
std::string negotiate(std::vector<std::string_view> headers, const DeflateOptions& options = {}) {
  const std::optional<DeflateParams> p = negotiateDeflate(headers, options);
  return p ? p->responseHeader() : "";
}

TEST_CASE("deflate negotiation: offers and answers", "[websocket][deflate]") {
  struct Row {
    const char* rule;
    std::vector<std::string_view> headers;
    std::string response;
  };
  const Row rows[] = {
      {"no header", {}, ""},
      {"other extensions only", {"x-webkit-deflate-frame, foo; bar=1"}, ""},
      {"plain offer", {"permessage-deflate"}, "permessage-deflate"},
      {"extension names are case-insensitive", {"PerMessage-Deflate"}, "permessage-deflate"},
      {"7.1.1.1 server_no_context_takeover is honoured",
       {"permessage-deflate; server_no_context_takeover"},
       "permessage-deflate; server_no_context_takeover"},
      {"7.1.1.2 client_no_context_takeover is acknowledged",
       {"permessage-deflate; client_no_context_takeover"},
       "permessage-deflate; client_no_context_takeover"},
      {"7.1.2.1 server_max_window_bits is echoed",
       {"permessage-deflate; server_max_window_bits=10"},
       "permessage-deflate; server_max_window_bits=10"},
      {"7.1.2.1 even at 15",
       {"permessage-deflate; server_max_window_bits=15"},
       "permessage-deflate; server_max_window_bits=15"},
      {"7.1.2.1 8 is accepted (compressed with zlib's 9)",
       {"permessage-deflate; server_max_window_bits=8"},
       "permessage-deflate; server_max_window_bits=8"},
      {"7.1.2.2 client_max_window_bits without a value",
       {"permessage-deflate; client_max_window_bits"},
       "permessage-deflate"},
      {"7.1.2.2 client_max_window_bits with a value",
       {"permessage-deflate; client_max_window_bits=10"},
       "permessage-deflate; client_max_window_bits=10"},
      {"quoted window value",
       {"permessage-deflate; server_max_window_bits=\"12\""},
       "permessage-deflate; server_max_window_bits=12"},
      {"whitespace around separators",
       {" permessage-deflate ;\tclient_no_context_takeover , foo"},
       "permessage-deflate; client_no_context_takeover"},
      {"7.1 example: the first of two offers",
       {"permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
        "permessage-deflate; client_max_window_bits"},
       "permessage-deflate; server_max_window_bits=10"},
      {"declined: unknown parameter, the second offer is taken",
       {"permessage-deflate; foo=1, permessage-deflate; server_no_context_takeover"},
       "permessage-deflate; server_no_context_takeover"},
      {"declined: window 7, the second offer is taken",
       {"permessage-deflate; server_max_window_bits=7, permessage-deflate"},
       "permessage-deflate"},
      {"declined: window 16", {"permessage-deflate; server_max_window_bits=16"}, ""},
      {"declined: leading zero", {"permessage-deflate; server_max_window_bits=08"}, ""},
      {"declined: not a number", {"permessage-deflate; client_max_window_bits=ten"}, ""},
      {"declined: server_max_window_bits needs a value",
       {"permessage-deflate; server_max_window_bits"},
       ""},
      {"declined: a value on server_no_context_takeover",
       {"permessage-deflate; server_no_context_takeover=1"},
       ""},
      {"declined: a value on client_no_context_takeover",
       {"permessage-deflate; client_no_context_takeover=true"},
       ""},
      {"declined: duplicated parameter",
       {"permessage-deflate; server_no_context_takeover; server_no_context_takeover"},
       ""},
      {"declined: duplicated window parameter",
       {"permessage-deflate; client_max_window_bits=9; client_max_window_bits=10"},
       ""},
      {"a syntax error skips only its own element",
       {"permessage-deflate; =x, permessage-deflate; client_max_window_bits=12"},
       "permessage-deflate; client_max_window_bits=12"},
      {"an unterminated quote swallows the rest",
       {"permessage-deflate; a=\"x, permessage-deflate"},
       ""},
      {"a comma inside quotes is not a separator",
       {"foo; a=\"x, permessage-deflate\", permessage-deflate; server_max_window_bits=9"},
       "permessage-deflate; server_max_window_bits=9"},
      {"offers across header lines, in order",
       {"foo", "permessage-deflate; server_max_window_bits=11", "permessage-deflate"},
       "permessage-deflate; server_max_window_bits=11"},
  };
  for (const Row& row : rows) {
    INFO(row.rule);
    CHECK(negotiate(row.headers) == row.response);
  }
}

TEST_CASE("deflate negotiation: the server's own limits", "[websocket][deflate]") {
  DeflateOptions o;
  o.server_max_window_bits = 10;
  CHECK(negotiate({"permessage-deflate"}, o) == "permessage-deflate; server_max_window_bits=10");
  CHECK(negotiate({"permessage-deflate; server_max_window_bits=12"}, o) ==
        "permessage-deflate; server_max_window_bits=10");
  CHECK(negotiate({"permessage-deflate; server_max_window_bits=9"}, o) ==
        "permessage-deflate; server_max_window_bits=9");

  o = {};
  o.client_max_window_bits = 9;
  CHECK(negotiate({"permessage-deflate; client_max_window_bits"}, o) ==
        "permessage-deflate; client_max_window_bits=9");
  CHECK(negotiate({"permessage-deflate; client_max_window_bits=12"}, o) ==
        "permessage-deflate; client_max_window_bits=9");
  // A client that did not offer client_max_window_bits cannot be limited (7.1.2.2: the
  // response must not name it) and may use a 15-bit window, more than the configured 9:
  // that offer is declined, and a later one that allows the limit is taken.
  CHECK(negotiate({"permessage-deflate"}, o) == "");
  CHECK(negotiate({"permessage-deflate; server_max_window_bits=10"}, o) == "");
  CHECK(negotiate({"permessage-deflate, permessage-deflate; client_max_window_bits"}, o) ==
        "permessage-deflate; client_max_window_bits=9");
  // At 15 (the default) nothing needs asking, so such offers are accepted as before.
  o.client_max_window_bits = 15;
  CHECK(negotiate({"permessage-deflate"}, o) == "permessage-deflate");
  CHECK(negotiate({"permessage-deflate; client_max_window_bits"}, o) == "permessage-deflate");

  // Both limits at their smallest, as [worker.websocket] may set them: 8 is announced
  // (the compressor runs zlib at 9, whose matches stay within 250 bytes) and asked for.
  o = {};
  o.server_max_window_bits = 8;
  o.client_max_window_bits = 8;
  CHECK(negotiate({"permessage-deflate; client_max_window_bits"}, o) ==
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8");
  CHECK(negotiate({"permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"},
                  o) == "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8");

  o = {};
  o.server_no_context_takeover = true;
  o.client_no_context_takeover = true;
  CHECK(negotiate({"permessage-deflate"}, o) ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover");

  const auto params = negotiateDeflate(std::vector<std::string_view>{"permessage-deflate; "
                                                                     "client_max_window_bits=11; "
                                                                     "server_no_context_takeover"},
                                       DeflateOptions{});
  REQUIRE(params.has_value());
  CHECK(params->server_no_context_takeover);
  CHECK_FALSE(params->client_no_context_takeover);
  CHECK(params->client_max_window_bits == 11);
  CHECK(params->server_max_window_bits == 15);
}

}  // namespace
}  // namespace wman::ws
