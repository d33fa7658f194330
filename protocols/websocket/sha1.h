// SHA-1 (FIPS 180-4), only for Sec-WebSocket-Accept: RFC 6455 mandates it there. Not for
// anything security-sensitive; OpenSSL is off limits in protocols/, so this is self-contained.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wman::ws {

// Incremental SHA-1. Feed any number of update() calls, then digest() once; the object must
// not be updated after digest().
class Sha1 {
 public:
  using Digest = std::array<std::uint8_t, 20>;

  // Appends `data` to the message being hashed.
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }

  // Pads the message and returns its 20-byte digest.
  Digest digest();

  // The digest of `data` in one call.
  static Digest of(std::string_view data);

 private:
  void compress(const std::uint8_t* block);

  std::uint32_t h_[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  std::uint64_t total_ = 0;  // message bytes so far
  std::uint8_t block_[64] = {};
  std::size_t used_ = 0;  // bytes of block_ filled
};

}  // namespace wman::ws
