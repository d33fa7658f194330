// BufferPool: connections take storage when they hold bytes and give it back when they
// empty, so idle connections hold none and busy ones reuse warm storage.
#include <catch2/catch.hpp>

#include <string>

#include "detail/buffer_pool.h"

using wman::detail::BufferPool;

TEST_CASE("a recycled buffer is reused by the next connection that needs room") {
  BufferPool pool;
  std::string a;
  pool.provide(a, 10000);
  REQUIRE(a.capacity() >= 10000);
  a.assign(9000, 'x');
  const char* storage = a.data();
  pool.recycle(a);
  CHECK(a.empty());
  CHECK(a.capacity() < BufferPool::kMinPooled);  // the connection holds no storage now
  CHECK(pool.pooledBytes() >= 10000);

  std::string b;
  pool.provide(b, 5000);
  CHECK(b.data() == storage);  // the same memory, not fresh pages
  CHECK(b.empty());
  CHECK(pool.pooledBytes() == 0);
}

TEST_CASE("small requests are left to the allocator and not pooled") {
  BufferPool pool;
  std::string warm;
  pool.provide(warm, 8000);
  pool.recycle(warm);
  const std::size_t pooled = pool.pooledBytes();
  std::string s;
  pool.provide(s, 40);  // a few bytes queued on each of many connections (a broadcast)
  CHECK(s.capacity() < BufferPool::kMinPooled);
  CHECK(pool.pooledBytes() == pooled);
  s = "hello";
  pool.recycle(s);
  CHECK(pool.pooledBytes() == pooled);
  CHECK(s.capacity() < BufferPool::kMinPooled);
}

TEST_CASE("a request just over the small size gets at least a poolable buffer") {
  BufferPool pool;
  std::string s;
  pool.provide(s, BufferPool::kMinRequest);
  CHECK(s.capacity() >= BufferPool::kMinPooled);
}

TEST_CASE("a pooled buffer too small for the request is left for a later one") {
  BufferPool pool;
  std::string small;
  pool.provide(small, BufferPool::kMinPooled);
  pool.recycle(small);
  const std::size_t pooled = pool.pooledBytes();
  std::string big;
  pool.provide(big, 64 * 1024);
  CHECK(big.capacity() >= 64 * 1024);
  CHECK(pool.pooledBytes() == pooled);
}

TEST_CASE("a buffer holding bytes grows in place and keeps them") {
  BufferPool pool;
  std::string s;
  pool.provide(s, 100);
  s = "keep me";
  pool.provide(s, 100000);
  CHECK(s == "keep me");
  CHECK(s.capacity() >= 100000);
}

TEST_CASE("huge buffers and buffers over the pool's total are freed, not kept") {
  BufferPool pool;
  std::string huge;
  pool.provide(huge, BufferPool::kMaxPooled + 1);
  pool.recycle(huge);
  CHECK(pool.pooledBytes() == 0);
  CHECK(huge.capacity() < BufferPool::kMinPooled);

  const std::size_t each = 512 * 1024;
  const std::size_t fit = BufferPool::kMaxPooledBytes / each;
  for (std::size_t i = 0; i < fit + 3; ++i) {
    std::string s;
    pool.provide(s, each);
    pool.recycle(s);  // LIFO: the same storage comes back each time
  }
  std::string many[20];
  for (auto& s : many) pool.provide(s, each);
  for (auto& s : many) pool.recycle(s);
  CHECK(pool.pooledBytes() <= BufferPool::kMaxPooledBytes);
  pool.release();
  CHECK(pool.pooledBytes() == 0);
}
