// Storage for connection buffers (undecoded input, queued output, a write in flight), shared
// by the connections of one loop. A connection holds a buffer only while it has bytes in it
// and hands the storage back when it empties, so an idle connection costs no buffer, and a
// busy one takes back warm memory instead of fresh pages: allocating, growing and freeing a
// large buffer per message made the kernel zero a new page for every 4 KiB written into it
// (bench/run workload e, docs/performance.md).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace wman::detail {

class BufferPool {
 public:
  // Pooled buffers are at least this large (smaller ones are freed, not kept)...
  static constexpr std::size_t kMinPooled = 4 * 1024;
  // ...and at most this large: one huge message must not pin its storage for good.
  static constexpr std::size_t kMaxPooled = 4 * 1024 * 1024;
  // What the pool keeps in all; beyond it, recycled storage is freed.
  static constexpr std::size_t kMaxPooledBytes = 8 * 1024 * 1024;

  BufferPool() = default;
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Below this, requests are left to the allocator: small blocks come from its per-thread
  // caches without fresh pages, and a broadcast that queues a few bytes on each of 100,000
  // connections must not give each of them kMinPooled bytes.
  static constexpr std::size_t kMinRequest = 1024;

  // Makes room for `want` bytes in `s` (its size included). An empty `s` without that much
  // storage takes a pooled buffer when one is large enough, else new storage of at least
  // kMinPooled; a non-empty one grows in place (geometrically, as std::string does).
  void provide(std::string& s, std::size_t want) {
    if (s.capacity() >= want || want < kMinRequest) return;
    if (s.empty() && !free_.empty() && free_.back().capacity() >= want) {
      s.swap(free_.back());
      pooled_bytes_ -= s.capacity();
      free_.pop_back();
      return;
    }
    s.reserve(want < kMinPooled ? kMinPooled : want);
  }

  // Empties `s` and takes its storage back (or frees it), leaving `s` without storage.
  void recycle(std::string& s) {
    const std::size_t cap = s.capacity();
    if (cap >= kMinPooled && cap <= kMaxPooled && pooled_bytes_ + cap <= kMaxPooledBytes) {
      s.clear();
      pooled_bytes_ += cap;
      free_.push_back(std::move(s));
      s = std::string();  // a moved-from string is valid but unspecified: make it empty
      return;
    }
    std::string().swap(s);
  }

  // Empties `s`. Storage under kMinRequest stays with it, for the next small message of the
  // same connection (or of the next one to take a spare busy block); larger storage is
  // recycled as above.
  void clear(std::string& s) {
    if (s.capacity() < kMinRequest) {
      s.clear();
    } else {
      recycle(s);
    }
  }

  // Bytes held for reuse (for tests and the memory budget).
  std::size_t pooledBytes() const { return pooled_bytes_; }
  // Frees everything held (the memory budget's first resort).
  void release() {
    free_.clear();
    free_.shrink_to_fit();
    pooled_bytes_ = 0;
  }

 private:
  std::vector<std::string> free_;  // last in, first out: the most recently used is warmest
  std::size_t pooled_bytes_ = 0;
};

}  // namespace wman::detail
