// What every connection costs before it holds anything: a regression here is paid by
// each of a million idle connections.
#include <catch2/catch.hpp>

#include <cstdio>

#include "detail/connection_impl.h"

using wman::Connection;
using wman::detail::ConnectionImpl;
using wman::detail::DeadlineLink;

TEST_CASE("ConnectionImpl stays within its size budget") {
  std::printf("sizeof(ConnectionImpl) = %zu (Connection %zu, DeadlineLink %zu, uv_poll_t %zu)\n",
              sizeof(ConnectionImpl), sizeof(Connection), sizeof(DeadlineLink), sizeof(uv_poll_t));
  // It lives in a slot (wman/slot_allocator.h): no allocator header, no holes.
  CHECK(sizeof(ConnectionImpl) <= wman::SlotAllocator::kMaxSlot);
  // Beyond the public Connection: the deadline wheel's links, six pointers or clocks, the
  // packed read budget, stages and flags, and the socket (520 bytes in all before the
  // transports, the explicit states and the Held block; 408 with a libuv stream handle,
  // 304 with a libuv poll handle instead of the loop's own epoll set).
  CHECK(sizeof(ConnectionImpl) - sizeof(Connection) <= 88);
  CHECK(sizeof(ConnectionImpl) <= 152);
}
