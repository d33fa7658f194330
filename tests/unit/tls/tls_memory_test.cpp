// What an idle TLS connection costs: heap held by a server TlsSession after its handshake
// and one exchange, measured with glibc's allocator statistics.
#include <malloc.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tls_test_util.h"

using wman::detail::TlsSession;
using namespace wman::test;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMallocStatsWork = false;  // ASan's allocator bypasses mallinfo2()
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kMallocStatsWork = false;
#else
constexpr bool kMallocStatsWork = true;
#endif
#else
constexpr bool kMallocStatsWork = true;
#endif

std::size_t heapInUse() {
  return mallinfo2().uordblks;
}

}  // namespace

TEST_CASE("idle server sessions hold little memory", "[tls][memory]") {
  const auto [max_version, limit] = GENERATE(table<std::string, std::size_t>({
      {"1.2", 16 * 1024},
      {"", 16 * 1024},
  }));
  auto server_ctx = makeServer(serverConfig());
  auto options = clientOptions();
  options.max_version = max_version;
  auto client_ctx = makeClient(options);

  constexpr int kSessions = 400;
  std::vector<std::unique_ptr<TlsSession>> servers;
  std::vector<std::unique_ptr<TlsSession>> clients;
  servers.reserve(kSessions);
  clients.reserve(kSessions);
  {
    // Warm-up: OpenSSL allocates per-process tables on first use.
    SessionPair warm(client_ctx, server_ctx);
    REQUIRE(warm.handshake());
  }
  const std::size_t before = heapInUse();
  for (int i = 0; i < kSessions; ++i) {
    SessionPair p(client_ctx, server_ctx);
    REQUIRE(p.handshake());
    REQUIRE(p.client->write("ping"));
    p.pump();
    REQUIRE(p.server->write("pong"));
    p.pump();
    REQUIRE(p.client_got == "pong");
    servers.push_back(std::move(p.server));
    clients.push_back(std::move(p.client));
  }
  clients.clear();  // keep only the servers' memory in the count
  const std::size_t after = heapInUse();
  for (const auto& s : servers) {
    CHECK(s->state() == TlsSession::State::Open);
    CHECK(s->bufferedInput() == 0);
    CHECK_FALSE(s->hasOutput());
  }
  if (!kMallocStatsWork) return;
  const std::size_t per_session = (after - before) / kSessions;
  std::printf(
      "idle TLS server session (%s): %zu bytes each (sizeof(TlsSession) = %zu, "
      "server session cache holds %ld)\n",
      servers.front()->protocol().data(), per_session, sizeof(TlsSession),
      SSL_CTX_sess_number(server_ctx->native()));
  CHECK(per_session < limit);
}
