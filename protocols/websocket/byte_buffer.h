// A growable byte array that does not zero what it allocates, for the codec's message and
// inflate storage (std::string::resize would clear every byte before zlib overwrites it).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "wman/codec.h"

namespace wman::ws {

// Single owner, not thread-safe. Pointers into it stay valid until the next call that grows
// it or release(). One pointer wide while empty: its size and capacity live in front of the
// bytes, in the same allocation, so a connection that holds no message pays 8 bytes for it.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    if (this != &other) {
      std::free(block_);
      block_ = std::exchange(other.block_, nullptr);
    }
    return *this;
  }
  ~ByteBuffer() { std::free(block_); }

  // The bytes held (size() of them, null while nothing is allocated) and the room
  // allocated for them.
  std::byte* data() { return block_ ? bytes() : nullptr; }
  std::size_t size() const { return block_ ? block_->size : 0; }
  std::size_t capacity() const { return block_ ? block_->capacity : 0; }
  // The held bytes as a span, valid until the buffer grows, is cleared or released.
  ByteSpan view() const { return block_ ? ByteSpan{bytes(), block_->size} : ByteSpan{}; }

  // Forgets the contents but keeps the memory for the next message.
  void clear() {
    if (block_) block_->size = 0;
  }
  // Frees the memory too (after a message, so an idle connection stays small).
  void release() {
    std::free(block_);
    block_ = nullptr;
  }

  // Makes room for `extra` more bytes (at least doubling, so appends are amortised O(1)) and
  // returns where they go; commit() then says how many were written.
  std::byte* reserveTail(std::size_t extra) {
    const std::size_t used = size();
    const std::size_t room = capacity();
    if (room - used < extra) {
      const std::size_t wanted = std::max(used + extra, std::max<std::size_t>(room * 2, 256));
      // realloc, not new + memcpy: a large block grows in place or is remapped by the
      // allocator, so a message growing to max_message_size is not copied at each doubling
      // (which cost a 16 MiB inflate a few hundred milliseconds of copies and page faults).
      void* grown = std::realloc(block_, sizeof(Header) + wanted);
      if (!grown) throw std::bad_alloc();
      block_ = static_cast<Header*>(grown);
      block_->size = used;
      block_->capacity = wanted;
    }
    return bytes() + used;
  }
  // Only after reserveTail() made room for at least `n`.
  void commit(std::size_t n) {
    if (block_) block_->size += n;
  }

  // Copies `bytes` to the end.
  void append(ByteSpan bytes) {
    if (bytes.empty()) return;
    std::memcpy(reserveTail(bytes.size()), bytes.data(), bytes.size());
    block_->size += bytes.size();
  }

 private:
  struct Header {
    std::size_t size;
    std::size_t capacity;
  };
  std::byte* bytes() const { return reinterpret_cast<std::byte*>(block_ + 1); }

  Header* block_ = nullptr;
};

}  // namespace wman::ws
