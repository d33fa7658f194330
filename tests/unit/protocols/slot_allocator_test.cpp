// The slots that hold what every connection keeps: packed without headers, reused, and
// out of the way of a sanitizer build.
#include <catch2/catch.hpp>

#include <cstdint>
#include <thread>
#include <vector>

#include "wman/slot_allocator.h"

using wman::SlotAllocator;

namespace {

std::uintptr_t address(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p);
}

}  // namespace

TEST_CASE("slots keep every fundamental alignment") {
  for (std::size_t size : {1, 8, 24, 100, 152, 160, 256}) {
    void* p = SlotAllocator::allocate(size);
    void* q = SlotAllocator::allocate(size);
    const std::size_t align = size % 16 == 0 ? 16 : 8;
    CHECK(address(p) % align == 0);
    CHECK(address(q) % align == 0);
    SlotAllocator::release(q, size);
    SlotAllocator::release(p, size);
  }
}

TEST_CASE("slots of one size follow each other without a header") {
  if (!SlotAllocator::slotted()) return;  // AddressSanitizer build: plain operator new
  // A fresh size, so the slots are carved one after the other.
  constexpr std::size_t kSize = 232;
  std::vector<void*> slots;
  for (int i = 0; i < 8; ++i) slots.push_back(SlotAllocator::allocate(kSize));
  std::size_t adjacent = 0;
  for (std::size_t i = 1; i < slots.size(); ++i) {
    if (address(slots[i]) == address(slots[i - 1]) + kSize) ++adjacent;
  }
  // At most one step crosses into a new block.
  CHECK(adjacent >= slots.size() - 2);
  for (void* p : slots) SlotAllocator::release(p, kSize);
}

TEST_CASE("a released slot serves the next allocation of its rounded size") {
  if (!SlotAllocator::slotted()) return;
  void* p = SlotAllocator::allocate(100);
  SlotAllocator::release(p, 100);
  void* q = SlotAllocator::allocate(104);  // 100 and 104 round to the same 104-byte slot
  CHECK(q == p);
  void* r = SlotAllocator::allocate(96);  // a different size: a different slot
  CHECK(r != p);
  SlotAllocator::release(r, 96);
  SlotAllocator::release(q, 104);
}

TEST_CASE("blocks are reserved 64 KiB at a time, and only for small sizes") {
  const std::size_t before = SlotAllocator::reservedBytes();
  void* big = SlotAllocator::allocate(SlotAllocator::kMaxSlot + 1);
  CHECK(SlotAllocator::reservedBytes() == before);
  SlotAllocator::release(big, SlotAllocator::kMaxSlot + 1);
  if (!SlotAllocator::slotted()) return;
  // 1,000 slots of 248 bytes fill four blocks of 64 KiB (264 to a block), fewer if earlier
  // tests left slots of this size.
  constexpr std::size_t kSize = 248;
  std::vector<void*> slots;
  for (int i = 0; i < 1000; ++i) slots.push_back(SlotAllocator::allocate(kSize));
  const std::size_t grown = SlotAllocator::reservedBytes() - before;
  CHECK(grown % (64 * 1024) == 0);
  CHECK(grown <= 4 * 64 * 1024);
  CHECK(grown >= 64 * 1024);
  for (void* p : slots) SlotAllocator::release(p, kSize);
  // Released slots are reused: the same 1,000 again reserve nothing.
  const std::size_t reserved = SlotAllocator::reservedBytes();
  for (void*& p : slots) p = SlotAllocator::allocate(kSize);
  CHECK(SlotAllocator::reservedBytes() == reserved);
  for (void* p : slots) SlotAllocator::release(p, kSize);
}

TEST_CASE("a slot released on another thread serves that thread") {
  void* p = SlotAllocator::allocate(120);
  void* again = nullptr;
  std::thread t([&] {
    SlotAllocator::release(p, 120);
    again = SlotAllocator::allocate(120);
    SlotAllocator::release(again, 120);
  });
  t.join();
  if (SlotAllocator::slotted()) CHECK(again == p);
}
