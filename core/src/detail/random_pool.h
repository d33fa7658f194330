// Unpredictable bytes for WebSocket masking keys and Sec-WebSocket-Key, drawn from OpenSSL's
// CSPRNG in blocks rather than one call per frame.
#pragma once

#include <cstddef>
#include <span>

namespace wman::detail {

// Fills `out` with bytes from OpenSSL's RAND_bytes (std::random_device if it fails).
//
// A client masks every frame with 4 fresh bytes (RFC 6455 5.3), and one RAND_bytes call costs
// far more than the frame itself: in OpenSSL 3.0 it takes locks, looks up parameters and
// makes a getpid() system call for its fork check, whatever the size asked for. So small
// requests are served from a per-thread block of kRandomBlock bytes, refilled with one call
// when used up; larger ones go to RAND_bytes directly. The bytes are the CSPRNG's either
// way, and masking keys and handshake keys go on the wire in the clear, so holding them in
// memory until use exposes nothing. A process forked while a block is partly used drops the
// child's copy, so parent and child never hand out the same bytes.
void fillRandom(std::span<std::byte> out);

inline constexpr std::size_t kRandomBlock = 512;

}  // namespace wman::detail
