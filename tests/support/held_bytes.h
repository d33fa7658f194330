// What a test server's connections hold in buffers (ConnectionImpl::heldBytes, summed),
// read on the loop thread: 0 for connections that are idle.
#pragma once

#include <cstddef>

#include "detail/connection_impl.h"
#include "test_server.h"
#include "wman/worker.h"

namespace wman::test {

inline std::size_t heldByConnections(TestServer& server, Worker& w) {
  return server.onLoop([&w] {
    std::size_t total = 0;
    for (const auto& [id, conn] : w.runtime().connections()) {
      total += detail::ConnectionImpl::from(*conn)->heldBytes();
    }
    return total;
  });
}

}  // namespace wman::test
