// The Prometheus text format writer and the ops endpoint's request codec.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "metrics_format.h"
#include "ops_request_codec.h"
#include "split_feed.h"
#include "wman/protocol_registry.h"

using wman::daemon::escapeHelp;
using wman::daemon::escapeLabelValue;
using wman::daemon::MetricsText;
using wman::daemon::MetricType;
using wman::daemon::validMetricName;

TEST_CASE("families carry HELP and TYPE lines before their samples", "[metrics]") {
  MetricsText m;
  m.family("wman_connections", MetricType::Gauge, "Connections open now.");
  m.sample({{"worker", "echo"}, {"slot", "0"}}, std::int64_t{3});
  m.sample({{"worker", "echo"}, {"slot", "1"}}, std::int64_t{0});
  m.family("wman_sent_bytes_total", MetricType::Counter, "Bytes sent.");
  m.sample({}, std::int64_t{1234567890123});
  CHECK(m.text() ==
        "# HELP wman_connections Connections open now.\n"
        "# TYPE wman_connections gauge\n"
        "wman_connections{worker=\"echo\",slot=\"0\"} 3\n"
        "wman_connections{worker=\"echo\",slot=\"1\"} 0\n"
        "# HELP wman_sent_bytes_total Bytes sent.\n"
        "# TYPE wman_sent_bytes_total counter\n"
        "wman_sent_bytes_total 1234567890123\n");
}

TEST_CASE("a family without samples is still announced", "[metrics]") {
  MetricsText m;
  m.family("wman_tls_certificate_expiry_seconds", MetricType::Gauge, "When it expires.");
  CHECK(m.text() ==
        "# HELP wman_tls_certificate_expiry_seconds When it expires.\n"
        "# TYPE wman_tls_certificate_expiry_seconds gauge\n");
}

TEST_CASE("label values and help text are escaped", "[metrics]") {
  CHECK(escapeLabelValue(R"(a"b\c)") == R"(a\"b\\c)");
  CHECK(escapeLabelValue("line1\nline2") == R"(line1\nline2)");
  CHECK(escapeLabelValue("plain ünïcode") == "plain ünïcode");
  // HELP escapes backslash and newline only: a quote stays as it is.
  CHECK(escapeHelp("say \"hi\"\\\n") == R"(say "hi"\\\n)");
  MetricsText m;
  m.family("wman_x", MetricType::Gauge, "two\nlines");
  m.sample({{"listen", "wss://[::1]:443\"\n"}}, std::int64_t{1});
  CHECK(m.text() ==
        "# HELP wman_x two\\nlines\n# TYPE wman_x gauge\n"
        "wman_x{listen=\"wss://[::1]:443\\\"\\n\"} 1\n");
}

TEST_CASE("floating values read back exactly, non-finite ones by name", "[metrics]") {
  MetricsText m;
  m.family("wman_event_loop_lag_seconds", MetricType::Gauge, "Lag.");
  m.sample({}, 0.000125);
  m.sample({}, 2.5);
  m.sample({}, std::numeric_limits<double>::quiet_NaN());
  m.sample({}, std::numeric_limits<double>::infinity());
  m.sample({}, -std::numeric_limits<double>::infinity());
  CHECK(m.text() ==
        "# HELP wman_event_loop_lag_seconds Lag.\n# TYPE wman_event_loop_lag_seconds gauge\n"
        "wman_event_loop_lag_seconds 0.000125\nwman_event_loop_lag_seconds 2.5\n"
        "wman_event_loop_lag_seconds NaN\nwman_event_loop_lag_seconds +Inf\n"
        "wman_event_loop_lag_seconds -Inf\n");
}

TEST_CASE("metric and label names follow the format's grammar", "[metrics]") {
  CHECK(validMetricName("wman_connections"));
  CHECK(validMetricName("wman:rate5m"));
  CHECK(validMetricName("_x9"));
  CHECK_FALSE(validMetricName(""));
  CHECK_FALSE(validMetricName("9wman"));
  CHECK_FALSE(validMetricName("wman-connections"));
  CHECK_FALSE(validMetricName("wman connections"));
  CHECK(validMetricName("worker", true));
  CHECK_FALSE(validMetricName("a:b", true));
  CHECK_FALSE(validMetricName("__name__", true));
}

namespace {

std::unique_ptr<wman::Codec> opsCodec(std::size_t max_head = 8192) {
  wman::daemon::registerOpsProtocol();
  wman::CodecLimits limits;
  limits.max_package_size = max_head;
  return wman::ProtocolRegistry::create(wman::daemon::kOpsProtocol, limits);
}

}  // namespace

TEST_CASE("the ops codec yields one request per head, however it is split", "[metrics]") {
  const std::string head =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer tok\r\n\r\n";
  wman::test::FeedOptions options;
  options.payload_in_input = false;  // the request is re-encoded in the codec's storage
  const wman::test::Feed feed =
      wman::test::decodeEverySplit([] { return opsCodec(); }, head, options);
  REQUIRE(feed.events.size() == 1);
  REQUIRE(feed.events[0].type == wman::test::Event::Type::Message);
  CHECK(feed.unconsumed == 0);
  const auto req = wman::daemon::decodeOpsRequest(feed.events[0].payload);
  CHECK(req.method == "GET");
  CHECK(req.path == "/metrics");
  CHECK(req.authorization == "Bearer tok");
}

TEST_CASE("the ops codec answers bad and oversized heads itself", "[metrics]") {
  auto codec = opsCodec(64);
  std::string big = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n";
  wman::DecodeResult r = codec->decode(wman::asBytes(big));
  REQUIRE(r.status == wman::DecodeResult::Status::Error);
  std::string out;
  codec->encodeError(r.code, r.reason, out);
  CHECK(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  CHECK(out.find("Connection: close\r\n") != std::string::npos);

  auto bad = opsCodec();
  std::string junk = "GET /metrics HTTP/1.1\r\nBad Header: x\r\n\r\n";
  r = bad->decode(wman::asBytes(junk));
  REQUIRE(r.status == wman::DecodeResult::Status::Error);
  out.clear();
  bad->encodeError(r.code, r.reason, out);
  CHECK(out.starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_CASE("a head begun and unfinished counts as a message in progress", "[metrics]") {
  auto codec = opsCodec();
  CHECK_FALSE(codec->inMessage());
  std::string part = "GET /metr";
  const wman::DecodeResult r = codec->decode(wman::asBytes(part));
  CHECK(r.status == wman::DecodeResult::Status::NeedMore);
  CHECK(codec->inMessage());
}
