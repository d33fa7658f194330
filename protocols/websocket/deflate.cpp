#include "websocket/deflate.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

namespace wman::ws {
namespace {

constexpr std::byte kTail[4] = {std::byte{0x00}, std::byte{0x00}, std::byte{0xff}, std::byte{0xff}};

// zlib takes at most uInt bytes per call; frames can in principle be larger.
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

// zlib refuses raw windowBits 8 for deflate (since 1.2.9); 9 is the closest it accepts, and a
// 9-bit zlib window never matches further back than 512 - 262 = 250 bytes, so the output is
// still readable with the 256-byte window the peer was promised.
int zlibWindowBits(int bits) {
  return std::clamp(bits, 9, 15);
}

}  // namespace

void PerMessageDeflate::StreamDeleter::operator()(z_stream_s* s) const {
  if (deflater) {
    deflateEnd(s);
  } else {
    inflateEnd(s);
  }
  delete s;
}

PerMessageDeflate::PerMessageDeflate(const DeflateParams& params, const DeflateOptions& options,
                                     Role role)
    : params_(params),
      options_(options),
      deflate_bits_(static_cast<std::uint8_t>(
          role == Role::Server ? params.server_max_window_bits : params.client_max_window_bits)),
      inflate_bits_(static_cast<std::uint8_t>(
          role == Role::Server ? params.client_max_window_bits : params.server_max_window_bits)),
      deflate_no_context_(role == Role::Server ? params.server_no_context_takeover
                                               : params.client_no_context_takeover),
      inflate_no_context_(role == Role::Server ? params.client_no_context_takeover
                                               : params.server_no_context_takeover) {}

PerMessageDeflate::~PerMessageDeflate() = default;

PerMessageDeflate::Status PerMessageDeflate::inflate(ByteSpan in, ByteBuffer& out,
                                                     std::size_t limit) {
  if (!inflater_) {
    auto stream = std::make_unique<z_stream>();
    // The peer promised at most its max_window_bits; a smaller inflate window saves memory.
    // 9 at least, for the same zlib reason as on the compress side.
    if (inflateInit2(stream.get(), -zlibWindowBits(inflate_bits_)) != Z_OK) {
      throw std::bad_alloc();
    }
    inflater_.reset(stream.release());
  }
  // Bytes after a final block belong to no stream; RFC 7692 7.2.3.4 lets senders end a
  // message that way, and the decompressor restarts with the next message.
  if (inflate_ended_) return Status::Ok;
  return run(in, out, limit);
}

PerMessageDeflate::Status PerMessageDeflate::run(ByteSpan in, ByteBuffer& out, std::size_t limit) {
  z_stream* s = inflater_.get();
  while (true) {
    const std::size_t piece = std::min(in.size(), kMaxChunk);
    s->next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    s->avail_in = static_cast<uInt>(piece);
    while (true) {
      if (out.capacity() == out.size()) {
        out.reserveTail(std::min(limit + 1 - out.size(), std::max<std::size_t>(out.size(), 4096)));
      }
      // Never let zlib write past limit + 1 bytes in total: that one extra byte proves the
      // message too big without inflating the rest of a bomb.
      const std::size_t room =
          std::min({out.capacity() - out.size(), limit + 1 - out.size(), kMaxChunk});
      s->next_out = reinterpret_cast<Bytef*>(out.data() + out.size());
      s->avail_out = static_cast<uInt>(room);
      const int ret = ::inflate(s, Z_NO_FLUSH);
      out.commit(room - s->avail_out);
      if (out.size() > limit) return Status::TooBig;
      if (ret == Z_STREAM_END) {
        inflate_ended_ = true;
        return Status::Ok;
      }
      if (ret == Z_MEM_ERROR) throw std::bad_alloc();
      if (ret != Z_OK && ret != Z_BUF_ERROR) return Status::Corrupt;
      // Room left over means zlib has flushed everything it could from this input.
      if (s->avail_out != 0) break;
    }
    in = in.subspan(piece);
    if (in.empty()) return Status::Ok;
  }
}

PerMessageDeflate::Status PerMessageDeflate::finishMessage(ByteBuffer& out, std::size_t limit) {
  Status st = inflate(ByteSpan(kTail, sizeof kTail), out, limit);
  if (st != Status::Ok) return st;
  if (inflate_no_context_) {
    // Nothing carries over to the next message: free the window and state (about 40 KiB)
    // until one comes, so an idle connection does not hold them.
    inflater_.reset();
  } else if (inflate_ended_) {
    inflateReset(inflater_.get());
  }
  inflate_ended_ = false;
  return Status::Ok;
}

void PerMessageDeflate::compress(ByteSpan in, std::string& out) {
  if (in.empty()) {
    // The empty message is one byte (RFC 7692 7.2.3.6): an empty stored block whose LEN/NLEN
    // is the removed tail. zlib cannot be asked for it: a second sync flush without input
    // produces nothing (Z_BUF_ERROR), and the stream is byte-aligned after every message.
    out.push_back('\0');
    return;
  }
  if (!deflater_) {
    auto stream = std::make_unique<z_stream>();
    const int level =
        options_.level >= 1 && options_.level <= 9 ? options_.level : Z_DEFAULT_COMPRESSION;
    if (deflateInit2(stream.get(), level, Z_DEFLATED, -zlibWindowBits(deflate_bits_),
                     std::clamp(options_.mem_level, 1, 9), Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::bad_alloc();
    }
    deflater_.reset(stream.release());
  }
  z_stream* s = deflater_.get();
  do {
    const std::size_t piece = std::min(in.size(), kMaxChunk);
    s->next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    s->avail_in = static_cast<uInt>(piece);
    in = in.subspan(piece);
    // Only the last piece is flushed, so the message ends on a byte boundary with the
    // empty stored block whose 00 00 ff ff RFC 7692 7.2.1 tells us to strip.
    const int flush = in.empty() ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    std::size_t room = deflateBound(s, piece) + 16;
    while (true) {
      const std::size_t used = out.size();
      room = std::min(room, kMaxChunk);
      out.resize(used + room);
      s->next_out = reinterpret_cast<Bytef*>(out.data() + used);
      s->avail_out = static_cast<uInt>(room);
      deflate(s, flush);  // cannot fail with a valid stream and room to write
      out.resize(used + room - s->avail_out);
      if (s->avail_out != 0) break;
      room *= 2;
    }
  } while (!in.empty());
  out.resize(out.size() - sizeof kTail);
  if (deflate_no_context_) deflateReset(s);
}

}  // namespace wman::ws
