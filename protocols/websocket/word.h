// Unaligned 8- and 16-byte loads and stores for the codec's word-at-a-time loops (unmasking,
// the UTF-8 check's ASCII skip). memcpy keeps them free of alignment and aliasing trouble;
// compilers turn it into one plain load or store. Load each word into its own variable:
// gathering several in an array made the compiler copy it through the stack, a
// store-forwarding stall that cost more than the loop's work on short messages.
#pragma once

#include <cstdint>
#include <cstring>

namespace wman::ws {

// Two words in one SSE2 register (every x86-64 has it; other targets split it in two), with
// the compiler's vector extension so ^ works on it directly.
using Word2 = std::uint64_t __attribute__((vector_size(16)));

// A word (std::uint64_t by default, or Word2) from `p`, and back.
template <typename Word = std::uint64_t>
inline Word loadWord(const void* p) {
  Word w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

template <typename Word>
inline void storeWord(void* p, Word w) {
  std::memcpy(p, &w, sizeof w);
}

}  // namespace wman::ws
