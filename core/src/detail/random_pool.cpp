#include "detail/random_pool.h"

#include <openssl/rand.h>
#include <pthread.h>

#include <cstring>
#include <mutex>
#include <random>

namespace wman::detail {
namespace {

struct Block {
  std::byte bytes[kRandomBlock];
  std::size_t used = kRandomBlock;  // nothing left: the first request refills
};

thread_local Block t_block;

// Only the thread that called fork() exists in the child, so clearing its block is enough.
void dropAfterFork() {
  t_block.used = kRandomBlock;
}

void fillDirect(std::span<std::byte> out) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) == 1)
    return;
  std::random_device device;
  for (std::byte& b : out) b = static_cast<std::byte>(device());
}

}  // namespace

void fillRandom(std::span<std::byte> out) {
  static std::once_flag registered;
  std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, dropAfterFork); });
  if (out.size() > kRandomBlock / 4) {
    fillDirect(out);
    return;
  }
  Block& b = t_block;
  if (kRandomBlock - b.used < out.size()) {
    fillDirect(b.bytes);
    b.used = 0;
  }
  std::memcpy(out.data(), b.bytes + b.used, out.size());
  // Each byte is handed out once.
  b.used += out.size();
}

}  // namespace wman::detail
