// A growable byte array that does not zero what it allocates, for the codec's message and
// inflate storage (std::string::resize would clear every byte before zlib overwrites it).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "wman/codec.h"

namespace wman::ws {

// Single owner, not thread-safe. Pointers into it stay valid until the next call that grows
// it or release().
class ByteBuffer {
 public:
  // The bytes held (size() of them, null while nothing was ever allocated) and the room
  // allocated for them.
  std::byte* data() { return data_.get(); }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  // The held bytes as a span, valid until the buffer grows, is cleared or released.
  ByteSpan view() const { return {data_.get(), size_}; }

  // Forgets the contents but keeps the memory for the next message.
  void clear() { size_ = 0; }
  // Frees the memory too (after a large message, so an idle connection stays small).
  void release() {
    data_.reset();
    size_ = capacity_ = 0;
  }

  // Makes room for `extra` more bytes (at least doubling, so appends are amortised O(1)) and
  // returns where they go; commit() then says how many were written.
  std::byte* reserveTail(std::size_t extra) {
    if (capacity_ - size_ < extra) {
      const std::size_t wanted = std::max(size_ + extra, std::max<std::size_t>(capacity_ * 2, 256));
      // realloc, not new + memcpy: a large block grows in place or is remapped by the
      // allocator, so a message growing to max_message_size is not copied at each doubling
      // (which cost a 16 MiB inflate a few hundred milliseconds of copies and page faults).
      void* grown = std::realloc(data_.get(), wanted);
      if (!grown) throw std::bad_alloc();
      data_.release();
      data_.reset(static_cast<std::byte*>(grown));
      capacity_ = wanted;
    }
    return data_.get() + size_;
  }
  void commit(std::size_t n) { size_ += n; }

  // Copies `bytes` to the end.
  void append(ByteSpan bytes) {
    if (bytes.empty()) return;
    std::memcpy(reserveTail(bytes.size()), bytes.data(), bytes.size());
    size_ += bytes.size();
  }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, Free> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace wman::ws
