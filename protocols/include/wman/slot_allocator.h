// Memory for the small objects every connection keeps for its whole life (the connection
// object, its codec): fixed-size slots carved from 64 KiB blocks, one free list per size
// and thread.
//
// Why not plain malloc: an idle connection is made of two such objects, allocated between
// the short-lived blocks of its handshake. The heap then ends up with the long-lived
// objects spread among holes the handshake left, each behind an 8-byte header: about
// 0.07 KiB per idle connection on top of the objects themselves (docs/performance.md,
// "Slots for what a connection keeps"). Slots hold nothing but the objects.
//
// The contract:
//  - Sizes up to kMaxSlot bytes come from slots (rounded up to 8 bytes, which keeps every
//    fundamental alignment: a 16-aligned type has a size that is a multiple of 16). Larger
//    ones go to ::operator new.
//  - release() must be given the size allocate() was given. A slot may be released on any
//    thread; it then serves that thread's next allocation of its size.
//  - Blocks are never handed back: a process keeps the slots of its peak number of
//    connections for the next ones, as nginx keeps its connection array.
//  - Under AddressSanitizer every allocation goes to ::operator new, so a use after free
//    of a connection or codec is still reported.
#pragma once

#include <cstddef>
#include <new>

namespace wman {

class SlotAllocator {
 public:
  static constexpr std::size_t kMaxSlot = 256;

  static void* allocate(std::size_t size);
  static void release(void* p, std::size_t size) noexcept;

  // Bytes of blocks allocated so far by every thread (for tests and diagnostics).
  static std::size_t reservedBytes() noexcept;
  // False in a build with AddressSanitizer, where every size goes to ::operator new.
  static bool slotted() noexcept;
};

// Gives a class, and every class derived from it, operator new and delete from the slots.
// The class must have a virtual destructor if objects are deleted through a base pointer
// (the sized delete then gets the size of the object's real type).
struct SlotAllocated {
  static void* operator new(std::size_t size) { return SlotAllocator::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    SlotAllocator::release(p, size);
  }
  // Over-aligned types (alignas beyond 16) are not for slots.
  static void* operator new(std::size_t size, std::align_val_t al) {
    return ::operator new(size, al);
  }
  static void operator delete(void* p, std::size_t, std::align_val_t al) noexcept {
    ::operator delete(p, al);
  }
};

}  // namespace wman
