// permessage-deflate data path (RFC 7692 section 7.2): raw DEFLATE per message, with the
// 0x00 0x00 0xff 0xff tail of a sync flush removed by the sender and restored by the receiver.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "websocket/byte_buffer.h"
#include "websocket/deflate_negotiation.h"
#include "websocket/frame_parser.h"
#include "wman/codec.h"

struct z_stream_s;  // zlib's stream, kept out of this header so zlib stays a private dependency

namespace wman::ws {

// The compressor and decompressor of one connection, configured by the negotiated params.
// Each zlib stream is created on first use, so a connection that never compresses (or never
// receives a compressed message) never pays for that stream's memory. Without the peer's
// context takeover the decompressor is freed after each message, so between messages only
// a compressor that keeps its history (or is reset, not freed: re-creating it would cost
// about 256 KiB of fresh allocations per message) stays.
class PerMessageDeflate {
 public:
  enum class Status : std::uint8_t { Ok, TooBig, Corrupt };

  // Runs with the negotiated `params`; `options` supplies level, mem_level and
  // min_compress_size (window sizes and context takeover come from `params` only). `role`
  // says which side of `params` is ours: a server compresses under the server_* parameters
  // and inflates under the client_* ones, a client the other way round. No zlib memory is
  // allocated yet.
  PerMessageDeflate(const DeflateParams& params, const DeflateOptions& options,
                    Role role = Role::Server);
  ~PerMessageDeflate();
  PerMessageDeflate(const PerMessageDeflate&) = delete;
  PerMessageDeflate& operator=(const PerMessageDeflate&) = delete;

  // Decompresses the next piece of a compressed message, appending to `out`. Returns TooBig
  // as soon as `out` holds `limit` + 1 bytes (so a zip bomb costs at most that much memory and
  // inflate work), Corrupt if the data is not valid DEFLATE.
  Status inflate(ByteSpan in, ByteBuffer& out, std::size_t limit);

  // Ends a compressed message: inflates the removed 0x00 0x00 0xff 0xff tail, then frees the
  // decompressor if the peer does not take over context. Same results as inflate().
  Status finishMessage(ByteBuffer& out, std::size_t limit);

  // Appends the compressed form of one whole message to `out`, without the tail, and resets
  // the compressor afterwards if we do not take over context. Throws only std::bad_alloc.
  void compress(ByteSpan in, std::string& out);

  // The negotiated parameters this instance runs with.
  const DeflateParams& params() const { return params_; }
  // The options this instance runs with.
  const DeflateOptions& options() const { return options_; }

 private:
  struct StreamDeleter {
    bool deflater;
    void operator()(z_stream_s* s) const;
  };
  using Stream = std::unique_ptr<z_stream_s, StreamDeleter>;

  Status run(ByteSpan in, ByteBuffer& out, std::size_t limit);

  DeflateParams params_;
  DeflateOptions options_;
  // Our direction's parameters, picked from params_ by role once.
  std::uint8_t deflate_bits_;
  std::uint8_t inflate_bits_;
  bool deflate_no_context_;
  bool inflate_no_context_;
  Stream inflater_{nullptr, StreamDeleter{false}};
  Stream deflater_{nullptr, StreamDeleter{true}};
  bool inflate_ended_ = false;  // the message held a final block; ignore the rest of it
};

}  // namespace wman::ws
