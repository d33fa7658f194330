// HttpRequestDecoder: pipelining, bodies whole and streamed, keep-alive, 100-continue,
// upgrades and the limits with their status codes, each fed whole, byte by byte and split
// at every offset. The refused request shapes are in http_smuggling_test.cpp.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "http_feed.h"

namespace wman {
namespace {

using test::feedHttp;
using test::feedHttpEverySplit;
using test::HttpFeed;
using State = HttpRequestDecoder::State;

// Four pipelined requests: a GET, a chunked POST with an extension and a trailer, a
// Content-Length POST and a HEAD, the whole stream in one string.
constexpr std::string_view kPipeline =
    "GET /a?x=1&y=2 HTTP/1.1\r\nHost: h\r\nCookie: s=1\r\n\r\n"
    "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;name=val\r\nhello\r\n1\r\n \r\nc\r\nworld, again\r\n0\r\nX-Sum: 1\r\n\r\n"
    "POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na=b"
    "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n";

TEST_CASE("http decoder: a pipelined chunked stream, every split", "[http]") {
  const HttpFeed f = feedHttpEverySplit(kPipeline);
  CHECK(f.events == std::vector<std::string>{
                        "request GET /a?x=1&y=2 HTTP/1.1 ka",
                        "head POST /up",
                        "request POST /up HTTP/1.1 ka body=hello world, again",
                        "head POST /form",
                        "request POST /form HTTP/1.1 ka body=a=b",
                        "request HEAD /b HTTP/1.1 ka",
                    });
  CHECK(f.unconsumed == 0);
  CHECK(f.state == State::Idle);
}

TEST_CASE("http decoder: streamed bodies come in pieces that join to the body", "[http]") {
  HttpDecoderOptions options;
  options.stream_body = true;
  const HttpFeed f = feedHttpEverySplit(kPipeline, options);
  CHECK(f.events[2] == "request POST /up HTTP/1.1 ka body=hello world, again");
  CHECK(f.events[4] == "request POST /form HTTP/1.1 ka body=a=b");

  // The Body pieces are views into the input: nothing of the body is buffered.
  HttpRequestDecoder decoder(options);
  const std::string head = "PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n";
  CHECK(decoder.decode(asBytes(head)).status == HttpDecodeResult::Status::Head);
  CHECK(decoder.state() == State::Body);
  const HttpDecodeResult piece = decoder.decode(asBytes("01234"));
  CHECK(piece.status == HttpDecodeResult::Status::Body);
  CHECK(piece.data == "01234");
  CHECK(decoder.decode(asBytes("")).status == HttpDecodeResult::Status::NeedMore);
  CHECK(decoder.decode(asBytes("56789")).status == HttpDecodeResult::Status::Body);
  // The request completes after its last piece without another byte.
  CHECK(decoder.decode(asBytes("")).status == HttpDecodeResult::Status::Request);
  CHECK(decoder.request().body.empty());
}

TEST_CASE("http decoder: the request's parts", "[http]") {
  HttpRequestDecoder decoder;
  const std::string in =
      "GET http://example.org/p/q?k=v#frag HTTP/1.1\r\nHost: example.org\r\n"
      "cookie: a=1; b=\"two\"\r\nX-Empty:\r\nX-Pad:  v  \r\nCookie: c=3\r\n\r\n";
  REQUIRE(decoder.decode(asBytes(in)).status == HttpDecodeResult::Status::Request);
  const HttpRequest& r = decoder.request();
  CHECK(r.target == "http://example.org/p/q?k=v#frag");
  CHECK(r.path == "/p/q");
  CHECK(r.query == "k=v");
  CHECK(r.header("HOST") == "example.org");
  CHECK(r.header("x-pad") == "v");
  CHECK(r.hasHeader("X-Empty"));
  CHECK_FALSE(r.hasHeader("X-Missing"));
  CHECK(r.headers.size() == 5);
  CHECK(r.cookie("b") == "two");
  CHECK(r.cookie("c") == "3");
  CHECK(r.cookie("A").empty());
  CHECK(r.cookies().size() == 3);
  CHECK(r.content_length == -1);
  CHECK_FALSE(r.chunked);

  HttpRequestDecoder options_star;
  REQUIRE(options_star.decode(asBytes("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")).status ==
          HttpDecodeResult::Status::Request);
  CHECK(options_star.request().path == "*");
  HttpRequestDecoder bare_authority;
  REQUIRE(bare_authority.decode(asBytes("GET https://h?q HTTP/1.1\r\nHost: h\r\n\r\n")).status ==
          HttpDecodeResult::Status::Request);
  CHECK(bare_authority.request().path == "/");
  CHECK(bare_authority.request().query == "q");
}

TEST_CASE("http decoder: keep-alive by version and Connection", "[http]") {
  const std::string next = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  SECTION("HTTP/1.1 keeps alive by default, Connection: close ends it and drops the rest") {
    const HttpFeed f =
        feedHttpEverySplit("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + next);
    CHECK(f.events == std::vector<std::string>{"request GET / HTTP/1.1"});
    CHECK(f.unconsumed == 0);
    CHECK(f.state == State::Closed);
  }
  SECTION("HTTP/1.0 closes unless it asks for keep-alive") {
    CHECK(feedHttpEverySplit("GET / HTTP/1.0\r\n\r\n" + next).events ==
          std::vector<std::string>{"request GET / HTTP/1.0"});
    CHECK(feedHttpEverySplit("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + next).events ==
          std::vector<std::string>{"request GET / HTTP/1.0 ka", "request GET /next HTTP/1.1 ka"});
  }
  SECTION("Connection is a list") {
    CHECK(feedHttpEverySplit("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n").state ==
          State::Closed);
  }
}

TEST_CASE("http decoder: Expect: 100-continue is reported at the head", "[http]") {
  const std::string post = "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n";
  CHECK(feedHttpEverySplit(post + "Expect: 100-Continue\r\n\r\nok").events ==
        std::vector<std::string>{"head POST /u expect", "request POST /u HTTP/1.1 ka body=ok"});
  // Only the head has arrived: the caller can answer before the client sends the body.
  CHECK(feedHttp(post + "Expect: 100-continue\r\n\r\n", {}).events ==
        std::vector<std::string>{"head POST /u expect"});
  CHECK(feedHttpEverySplit(post + "Expect: something\r\n\r\nok").events ==
        std::vector<std::string>{"error 417 unsupported expectation"});
  // No body to wait for, or an HTTP/1.0 client that cannot have meant it: nothing to answer.
  CHECK(feedHttpEverySplit("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n").events ==
        std::vector<std::string>{"request GET / HTTP/1.1 ka"});
  CHECK(feedHttpEverySplit("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
            .events == std::vector<std::string>{"head POST /", "request POST / HTTP/1.0 body=x"});
}

TEST_CASE("http decoder: header bytes over the limit are 431", "[http]") {
  HttpDecoderOptions options;
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  const std::string end = "\r\n\r\n";
  options.max_header_size = 64;
  const std::string exact = start + std::string(64 - start.size() - end.size(), 'v') + end;
  CHECK(feedHttpEverySplit(exact, options).events.size() == 1);
  const std::string over = start + std::string(65 - start.size() - end.size(), 'v') + end;
  CHECK(feedHttpEverySplit(over, options).events ==
        std::vector<std::string>{"error 431 request header too large"});
  // An endless head fails once it passes the limit, not at its end.
  CHECK(feedHttp(start + std::string(100, 'v'), {}, options).events ==
        std::vector<std::string>{"error 431 request header too large"});
  const std::string trailers =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nX: " +
      std::string(70, 't') + "\r\n\r\n";
  CHECK(feedHttpEverySplit(trailers, options).events ==
        std::vector<std::string>{"head POST /", "error 431 request trailers too large"});
}

TEST_CASE("http decoder: body bytes over the limit are 413", "[http]") {
  HttpDecoderOptions options;
  options.max_body_size = 10;
  const std::string post = "POST / HTTP/1.1\r\nHost: h\r\n";
  CHECK(feedHttpEverySplit(post + "Content-Length: 10\r\n\r\n0123456789", options).events.size() ==
        2);
  // Refused at the head: the client is told before it sends the body.
  CHECK(feedHttp(post + "Content-Length: 11\r\n\r\n", {}, options).events ==
        std::vector<std::string>{"error 413 request body too large"});
  const std::string chunked = post + "Transfer-Encoding: chunked\r\n\r\n";
  CHECK(feedHttpEverySplit(chunked + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", options)
            .events.back() == "request POST / HTTP/1.1 ka body=0123456789");
  // The running total passes the limit at the third chunk's header.
  CHECK(feedHttpEverySplit(chunked + "5\r\n01234\r\n5\r\n56789\r\n1\r\n", options).events ==
        std::vector<std::string>{"head POST /", "error 413 request body too large"});
  options.stream_body = true;
  CHECK(feedHttpEverySplit(chunked + "5\r\n01234\r\n6\r\n", options).events.back() ==
        "error 413 request body too large");
}

TEST_CASE("http decoder: chunk extensions are bounded", "[http]") {
  HttpDecoderOptions options;
  options.max_header_size = 128;
  const std::string chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(feedHttp(chunked + "1;" + std::string(200, 'e'), {}, options).events.back() ==
        "error 400 chunk extensions too long");
}

TEST_CASE("http decoder: an upgrade request stops the decoder", "[http]") {
  const std::string upgrade =
      "GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  const HttpFeed f = feedHttpEverySplit(upgrade +
                                        "\x81\x80"
                                        "frame");
  CHECK(f.events == std::vector<std::string>{"request GET /chat HTTP/1.1 ka upgrade"});
  CHECK(f.unconsumed == 7);
  CHECK(f.state == State::Upgraded);

  // Answered as plain HTTP instead, the connection goes on with the next request.
  HttpRequestDecoder decoder;
  const std::string both = upgrade + "GET /n HTTP/1.1\r\nHost: h\r\n\r\n";
  const HttpDecodeResult r = decoder.decode(asBytes(both));
  REQUIRE(r.status == HttpDecodeResult::Status::Request);
  const std::string rest = both.substr(r.consumed);
  CHECK(decoder.decode(asBytes(rest)).status == HttpDecodeResult::Status::NeedMore);
  decoder.continueAfterUpgrade();
  REQUIRE(decoder.decode(asBytes(rest)).status == HttpDecodeResult::Status::Request);
  CHECK(decoder.request().path == "/n");
}

TEST_CASE("http decoder: state() tells the runtime which timeout applies", "[http]") {
  HttpRequestDecoder decoder;
  CHECK(decoder.state() == State::Idle);
  CHECK(decoder.decode(asBytes("POST / HTTP/1.1\r\nHo")).consumed == 19);
  CHECK(decoder.state() == State::Head);
  CHECK(decoder.decode(asBytes("st: h\r\nContent-Length: 2\r\n\r\n")).status ==
        HttpDecodeResult::Status::Head);
  CHECK(decoder.state() == State::Body);
  CHECK(decoder.decode(asBytes("a")).status == HttpDecodeResult::Status::NeedMore);
  CHECK(decoder.state() == State::Body);
  CHECK(decoder.decode(asBytes("b")).status == HttpDecodeResult::Status::Request);
  CHECK(decoder.state() == State::Idle);
  CHECK(decoder.decode(asBytes("\x01")).status == HttpDecodeResult::Status::Error);
  CHECK(decoder.state() == State::Failed);
  // The error repeats and nothing more is consumed.
  const HttpDecodeResult again = decoder.decode(asBytes("GET / HTTP/1.1\r\n\r\n"));
  CHECK(again.status == HttpDecodeResult::Status::Error);
  CHECK(again.http_status == 400);
  CHECK(again.consumed == 0);
}

}  // namespace
}  // namespace wman
