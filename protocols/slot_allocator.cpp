#include "wman/slot_allocator.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <new>

namespace wman {
namespace {

// gcc's -fsanitize=address (the project's sanitizer build).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSlots = false;
#else
constexpr bool kSlots = true;
#endif

constexpr std::size_t kGranule = 8;
constexpr std::size_t kClasses = SlotAllocator::kMaxSlot / kGranule + 1;
constexpr std::size_t kBlockBytes = 64 * 1024;

// Every block is linked here as well as carved by its thread: the blocks stay reachable
// (a leak checker sees slots in use, not lost memory) and are counted.
struct Block {
  Block* next;
};
constexpr std::size_t kBlockHeader = 16;  // keeps the slots 16-aligned
std::atomic<Block*> g_blocks{nullptr};
std::atomic<std::size_t> g_reserved{0};

struct FreeSlot {
  FreeSlot* next;
};

// One size: slots given back (LIFO, so a busy size reuses warm memory), then the untouched
// rest of the newest block, carved only as needed so its pages are not touched early.
struct SizeClass {
  FreeSlot* free = nullptr;
  char* carve = nullptr;
  char* end = nullptr;
};

thread_local std::array<SizeClass, kClasses> t_classes{};

char* newBlock() {
  auto* raw = static_cast<char*>(::operator new(kBlockBytes));
  auto* block = reinterpret_cast<Block*>(raw);
  block->next = g_blocks.load(std::memory_order_relaxed);
  while (!g_blocks.compare_exchange_weak(block->next, block, std::memory_order_release,
                                         std::memory_order_relaxed)) {
  }
  g_reserved.fetch_add(kBlockBytes, std::memory_order_relaxed);
  return raw;
}

std::size_t slotSize(std::size_t size) {
  return (size + kGranule - 1) / kGranule * kGranule;
}

}  // namespace

void* SlotAllocator::allocate(std::size_t size) {
  if (!kSlots || size > kMaxSlot) return ::operator new(size);
  const std::size_t bytes = slotSize(size == 0 ? 1 : size);
  SizeClass& c = t_classes[bytes / kGranule];
  if (c.free != nullptr) {
    FreeSlot* slot = c.free;
    c.free = slot->next;
    return slot;
  }
  if (c.carve == nullptr || static_cast<std::size_t>(c.end - c.carve) < bytes) {
    char* block = newBlock();
    c.carve = block + kBlockHeader;
    c.end = block + kBlockBytes;
  }
  char* slot = c.carve;
  c.carve += bytes;
  return slot;
}

void SlotAllocator::release(void* p, std::size_t size) noexcept {
  if (p == nullptr) return;
  if (!kSlots || size > kMaxSlot) {
    // Unsized: clang before 19 declares the sized global delete only with
    // -fsized-deallocation.
    ::operator delete(p);
    return;
  }
  SizeClass& c = t_classes[slotSize(size == 0 ? 1 : size) / kGranule];
  auto* slot = static_cast<FreeSlot*>(p);
  slot->next = c.free;
  c.free = slot;
}

bool SlotAllocator::slotted() noexcept {
  return kSlots;
}

std::size_t SlotAllocator::reservedBytes() noexcept {
  return g_reserved.load(std::memory_order_relaxed);
}

}  // namespace wman
