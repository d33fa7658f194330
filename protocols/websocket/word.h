// Unaligned 8- and 16-byte loads and stores for the codec's word-at-a-time loops (unmasking,
// the UTF-8 check's ASCII skip). memcpy keeps them free of alignment and aliasing trouble;
// compilers turn it into one plain load or store. Load each word into its own variable:
// gathering several in an array made the compiler copy it through the stack, a
// store-forwarding stall that cost more than the loop's work on short messages.
#pragma once

#include <cstdint>
#include <cstring>

namespace wman::ws {

inline std::uint64_t loadWord(const void* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

inline void storeWord(void* p, std::uint64_t w) {
  std::memcpy(p, &w, sizeof w);
}

// Two words in one SSE2 register (every x86-64 has it; other targets split it in two), with
// the compiler's vector extension so ^ works on it directly.
using Word2 = std::uint64_t __attribute__((vector_size(16)));

inline Word2 loadWord2(const void* p) {
  Word2 w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

inline void storeWord2(void* p, Word2 w) {
  std::memcpy(p, &w, sizeof w);
}

}  // namespace wman::ws
