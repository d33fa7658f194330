// fillRandom: the per-thread block of CSPRNG bytes behind WebSocket masking keys. Each byte
// is handed out once, requests of every size are served, and a forked child does not reuse
// what is left of its parent's block.
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "detail/random_pool.h"

using wman::detail::fillRandom;
using wman::detail::kRandomBlock;

namespace {

std::uint32_t key() {
  std::array<std::byte, 4> k{};
  fillRandom(k);
  std::uint32_t v = 0;
  for (std::byte b : k) v = v << 8 | std::to_integer<std::uint32_t>(b);
  return v;
}

}  // namespace

TEST_CASE("fillRandom hands out fresh keys across block refills") {
  // Several blocks' worth of 4-byte keys: a repeat among 1024 random 32-bit values has a
  // probability of about 1e-4, a block handed out twice would repeat all of its keys.
  std::set<std::uint32_t> seen;
  const std::size_t n = 8 * kRandomBlock / 4;
  for (std::size_t i = 0; i < n; ++i) seen.insert(key());
  CHECK(seen.size() >= n - 2);
}

TEST_CASE("fillRandom serves requests larger than a block and odd sizes") {
  for (std::size_t size : {std::size_t{1}, std::size_t{3}, std::size_t{16}, kRandomBlock / 4,
                           kRandomBlock / 4 + 1, 4 * kRandomBlock}) {
    INFO("size " << size);
    std::vector<std::byte> a(size), b(size);
    fillRandom(a);
    fillRandom(b);
    if (size >= 16) {
      CHECK(a != b);
      CHECK(std::count(a.begin(), a.end(), std::byte{0}) < static_cast<long>(size / 4 + 4));
    }
  }
}

TEST_CASE("a forked child does not repeat its parent's remaining bytes") {
  key();  // the block is now partly used
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::array<std::uint32_t, 8> keys{};
    for (auto& k : keys) k = key();
    const bool ok = ::write(fds[1], keys.data(), sizeof keys) == sizeof keys;
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  std::array<std::uint32_t, 8> parent{}, child{};
  for (auto& k : parent) k = key();
  std::size_t got = 0;
  auto* p = reinterpret_cast<char*>(child.data());
  while (got < sizeof child) {
    const ssize_t n = ::read(fds[0], p + got, sizeof child - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(got == sizeof child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(parent != child);
}
