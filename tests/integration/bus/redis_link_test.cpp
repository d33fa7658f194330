// RedisLink against a real redis-server: a binary publish reaching another link's
// subscription, 10,000 channels surviving a kill -9 of Redis, AUTH, and the bounds on what
// is dropped instead of queued.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "redis_link.h"
#include "redis_test_support.h"

using namespace wman;
using namespace wman::bus;
using namespace wman::test;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

namespace {

// What one link reported, as the test thread sees it.
struct Seen {
  RedisLinkState state = RedisLinkState::Down;
  int downs = 0;
  std::size_t confirmed = 0;
  std::vector<std::pair<std::string, std::string>> messages;
};

std::unique_ptr<RedisLink> makeLink(const std::string& url, Watched<Seen>& seen,
                                    RedisLinkOptions options = {}) {
  options.url = url;
  options.connection.reconnect_min = 0.05;
  options.connection.reconnect_max = 0.3;
  auto link = std::make_unique<RedisLink>(std::move(options));
  link->onStateChange = [&seen](RedisLinkState s) {
    seen.update([s](Seen& v) {
      v.state = s;
      if (s == RedisLinkState::Down) v.downs++;
    });
  };
  link->onSubscriptionCount = [&seen](std::size_t n) {
    seen.update([n](Seen& v) { v.confirmed = n; });
  };
  link->onMessage = [&seen](std::string_view channel, std::string_view payload) {
    seen.update([&](Seen& v) { v.messages.emplace_back(channel, payload); });
  };
  return link;
}

bool isUp(const Seen& s) {
  return s.state == RedisLinkState::Up;
}

}  // namespace

TEST_CASE("RedisLink carries a binary publish to another link's subscription") {
  RedisServer redis;
  LoopThread loop;
  Watched<Seen> a, b;
  std::unique_ptr<RedisLink> sub, pub;
  RedisLinkOptions small;
  small.max_pending_bytes = 4096;
  loop.run([&] {
    sub = makeLink(redis.url() + "/0", a);
    pub = makeLink(redis.url(), b, small);
    CHECK(!pub->publish("news", "too early"));  // not started: dropped, not queued
    sub->subscribe("news");
    sub->subscribe("news");
    sub->start();
    pub->start();
    CHECK(sub->state() == RedisLinkState::Connecting);
  });
  REQUIRE(a.waitUntil([](const Seen& s) { return isUp(s) && s.confirmed == 1; }));
  REQUIRE(b.waitUntil(isUp));

  const std::string payload = "bin\0ary\r\n*1\r\n$-1\r\n\xff"s + std::string(1000, 'z');
  loop.run([&] {
    CHECK(pub->publish("news", payload));
    CHECK(pub->publish("elsewhere", "unseen"));
    // Past max_pending_bytes while the earlier publishes are unanswered: dropped.
    CHECK(!pub->publish("news", std::string(8192, 'q')));
  });
  REQUIRE(a.waitUntil([](const Seen& s) { return !s.messages.empty(); }));
  CHECK(a.get().messages == std::vector<std::pair<std::string, std::string>>{{"news", payload}});

  // Unsubscribed, the channel has no receiver left, which PUBLISH's reply tells.
  loop.run([&] { sub->unsubscribe("news"); });
  REQUIRE(a.waitUntil([](const Seen& s) { return s.confirmed == 0; }));
  Watched<long long> receivers;
  loop.run([&] {
    const std::vector<std::string_view> argv{"PUBLISH", "news", "late"};
    CHECK(pub->command(argv, [&receivers](const RedisReply& r) {
      receivers.update(
          [&](long long& v) { v = r.type == RedisReply::Type::Integer ? r.integer : -1; });
    }));
  });
  REQUIRE(receivers.waitUntil([](long long v) { return v == 0; }));
  loop.run([&] {
    const RedisLinkCounters p = pub->counters();
    CHECK(p.published == 2);
    CHECK(p.dropped == 2);
    CHECK(p.state == RedisLinkState::Up);
    const RedisLinkCounters s = sub->counters();
    CHECK(s.received == 1);
    CHECK(s.subscribed == 0);
    CHECK(s.reconnects == 0);
    sub.reset();
    pub.reset();
  });
}

TEST_CASE("RedisLink re-subscribes 10,000 channels after Redis is killed and restarted") {
  constexpr int kChannels = 10000;
  RedisServer redis;
  LoopThread loop;
  Watched<Seen> a, b;
  std::unique_ptr<RedisLink> sub, pub;
  loop.run([&] {
    sub = makeLink(redis.url(), a);
    pub = makeLink(redis.url(), b);
    for (int i = 0; i < kChannels; ++i) sub->subscribe("ch:" + std::to_string(i));
    sub->start();
    pub->start();
  });
  REQUIRE(a.waitUntil([](const Seen& s) { return isUp(s) && s.confirmed == kChannels; },
                      std::chrono::seconds(10)));
  REQUIRE(b.waitUntil(isUp));

  redis.kill();
  REQUIRE(a.waitUntil([](const Seen& s) { return s.state == RedisLinkState::Down; }));
  REQUIRE(b.waitUntil([](const Seen& s) { return s.state == RedisLinkState::Down; }));
  a.update([](Seen& s) { s.confirmed = 0; });
  loop.run([&] {
    for (int i = 0; i < 5; ++i) CHECK(!pub->publish("ch:1", "lost"));
    CHECK(pub->counters().dropped == 5);
    CHECK(sub->counters().subscribed == kChannels);
    CHECK(sub->counters().confirmed == 0);
  });

  redis.start();
  const auto back = Clock::now();
  REQUIRE(a.waitUntil([](const Seen& s) { return isUp(s) && s.confirmed == kChannels; }));
  const auto took = Clock::now() - back;
  CHECK(took < std::chrono::seconds(2));
  REQUIRE(b.waitUntil(isUp));

  // Redis itself says every sampled channel has its subscriber again, and messages flow.
  Watched<std::vector<long long>> numsub;
  loop.run([&] {
    std::vector<std::string> names{"PUBSUB", "NUMSUB"};
    for (int i = 0; i < kChannels; i += 97) names.push_back("ch:" + std::to_string(i));
    std::vector<std::string_view> argv(names.begin(), names.end());
    CHECK(pub->command(argv, [&numsub](const RedisReply& r) {
      numsub.update([&](std::vector<long long>& v) {
        for (std::size_t i = 1; i < r.elements.size(); i += 2) v.push_back(r.elements[i].integer);
      });
    }));
    for (int i = 0; i < kChannels; i += 1000) CHECK(pub->publish("ch:" + std::to_string(i), "hi"));
  });
  REQUIRE(numsub.waitUntil([](const std::vector<long long>& v) { return !v.empty(); }));
  for (long long n : numsub.get()) CHECK(n == 1);
  REQUIRE(a.waitUntil([](const Seen& s) { return s.messages.size() == kChannels / 1000; }));
  loop.run([&] {
    CHECK(sub->counters().reconnects == 1);
    CHECK(pub->counters().reconnects == 1);
    CHECK(pub->counters().last_error.find("127.0.0.1") != std::string::npos);
    sub.reset();
    pub.reset();
  });
}

TEST_CASE("RedisLink authenticates with the URL's password") {
  RedisServer redis({"--requirepass", "s3cr@t"});
  const std::string host = "127.0.0.1:" + std::to_string(redis.port());
  LoopThread loop;
  Watched<Seen> good, bad, none;
  std::unique_ptr<RedisLink> ok, wrong, missing;
  loop.run([&] {
    ok = makeLink("redis://:s3cr%40t@" + host + "/2", good);
    ok->subscribe("self");
    ok->start();
    wrong = makeLink("redis://:nope@" + host, bad);
    wrong->start();
    missing = makeLink("redis://" + host, none);
    missing->subscribe("x");
    missing->start();
  });
  REQUIRE(good.waitUntil([](const Seen& s) { return isUp(s) && s.confirmed == 1; }));
  loop.run([&] { CHECK(ok->publish("self", "loop")); });
  REQUIRE(good.waitUntil([](const Seen& s) { return s.messages.size() == 1; }));

  REQUIRE(bad.waitUntil([](const Seen& s) { return s.downs > 0; }));
  REQUIRE(none.waitUntil([](const Seen& s) { return s.downs > 0; }));
  loop.run([&] {
    CHECK(wrong->state() != RedisLinkState::Up);
    CHECK(wrong->counters().last_error.find("AUTH failed") != std::string::npos);
    CHECK(missing->counters().last_error.find("NOAUTH") != std::string::npos);
    ok.reset();
    wrong.reset();
    missing.reset();
  });
}

TEST_CASE("RedisLink refuses a bad URL with the reason") {
  RedisLinkOptions o;
  o.url = "http://127.0.0.1:6379";
  CHECK_THROWS_WITH(RedisLink(o),
                    "wman::bus::RedisLink: unsupported scheme 'http' (expected "
                    "redis:// or rediss://)");
  o.url = "redis://127.0.0.1:99999";
  CHECK_THROWS_WITH(RedisLink(o),
                    "wman::bus::RedisLink: port '99999' is not a number from 1 to 65535");
}
