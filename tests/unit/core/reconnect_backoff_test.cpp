// The reconnect back-off of AsyncConnection: full jitter between reconnect_min and an
// exponential ceiling capped at reconnect_max.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "detail/outbound.h"

using wman::AsyncConnectionOptions;
using wman::detail::Outbound;

TEST_CASE("the first reconnect waits reconnect_min, later ones spread up to the ceiling") {
  AsyncConnectionOptions o;
  o.reconnect_min = 0.5;
  o.reconnect_max = 8;
  std::mt19937_64 rng(42);
  CHECK(Outbound::backoffDelay(o, 0, rng) == Approx(0.5));
  for (unsigned attempt = 1; attempt < 80; ++attempt) {
    std::vector<double> d;
    for (int i = 0; i < 200; ++i) d.push_back(Outbound::backoffDelay(o, attempt, rng));
    const double ceiling = std::min(8.0, 0.5 * (1ULL << std::min(attempt, 62U)));
    INFO("attempt " << attempt);
    CHECK(*std::min_element(d.begin(), d.end()) >= 0.5);
    CHECK(*std::max_element(d.begin(), d.end()) <= ceiling);
    // Jitter: not one fixed value, and it uses most of its range.
    CHECK(*std::max_element(d.begin(), d.end()) - *std::min_element(d.begin(), d.end()) >
          (ceiling - 0.5) * 0.8);
  }
}

TEST_CASE("equal bounds give a fixed delay") {
  AsyncConnectionOptions o;
  o.reconnect_min = o.reconnect_max = 2;
  std::mt19937_64 rng(1);
  for (unsigned attempt = 0; attempt < 10; ++attempt) {
    CHECK(Outbound::backoffDelay(o, attempt, rng) == Approx(2));
  }
}
