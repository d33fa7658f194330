// FrameSession: the RFC 6455 frame decoder and encoders of an open connection. A frame is
// processed in place as its bytes arrive (unmasked, UTF-8 checked, inflated) and returned
// once complete.
#include "websocket/frame_session.h"

#include <algorithm>
#include <cstring>

namespace wman::ws {
namespace {

using close_code::kInvalidPayload;
using close_code::kMessageTooBig;
using close_code::kProtocolError;

DecodeResult fail(std::uint16_t code, std::string_view reason) {
  return DecodeResult::error(code, reason);
}

std::uint16_t loadBigEndian16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                    std::to_integer<unsigned>(p[1]));
}

DecodeResult withStatus(DecodeResult::Status status, std::size_t consumed, ByteSpan payload) {
  DecodeResult r = DecodeResult::needMore(consumed);
  r.status = status;
  r.payload = payload;
  return r;
}

// The header of the frame every echo and chat message is: FIN, no RSV bit, text or binary,
// masked as `role_masks` says, a payload of at most 65,535 bytes. Returns its size and the
// payload's in `size`, or 0 for every other frame (and for one still arriving), which then
// takes the general path with all its rules.
std::size_t simpleFrameHeader(ByteSpan input, bool role_masks, std::size_t& size) {
  if (input.size() < 2) return 0;
  const auto b0 = std::to_integer<std::uint8_t>(input[0]);
  const auto b1 = std::to_integer<std::uint8_t>(input[1]);
  if ((b0 != 0x81 && b0 != 0x82) || ((b1 & 0x80) != 0) != role_masks) return 0;
  std::size_t header = role_masks ? 6 : 2;
  size = b1 & 0x7f;
  if (size == 126) {
    if (input.size() < 4) return 0;
    size = loadBigEndian16(input.data() + 2);
    header += 2;
  } else if (size == 127) {
    return 0;
  }
  return input.size() >= header && input.size() - header >= size ? header : 0;
}

}  // namespace

FrameSession::FrameSession(Role role, std::size_t max_message, const RandomSource* random)
    : max_message_(max_message), random_(random), role_(role) {
  rules_.require_mask = role == Role::Server;
  rules_.forbid_mask = role == Role::Client;
}

FrameSession::~FrameSession() = default;

void FrameSession::enableDeflate(const DeflateParams& params, const DeflateOptions& options) {
  deflate_ = std::make_unique<PerMessageDeflate>(params, options, role_);
  rules_.rsv1_allowed = true;
}

DecodeResult FrameSession::decode(ByteSpan input) {
  // The common case first: a whole single-frame data message while none is in progress.
  // It is checked, unmasked and UTF-8 validated here with the same rules and errors as
  // decodeFrame(), without the general path's intermediate results (most of the
  // per-message cost).
  std::size_t size = 0;
  const std::size_t header = frame_done_ == 0 && !in_message_ && !message_delivered_
                                 ? simpleFrameHeader(input, rules_.require_mask, size)
                                 : 0;
  if (header == 0 || size > max_message_) return decodeFrame(input);
  std::byte* payload = const_cast<std::byte*>(input.data()) + header;
  if (rules_.require_mask) {
    std::uint32_t mask;
    std::memcpy(&mask, payload - 4, 4);
    unmask(payload, size, mask, 0);
  }
  const bool text = input[0] == std::byte{0x81};
  if (text) {
    // The validator is at a message start here: reset after the last message.
    if (!utf8_.feed({payload, size})) return fail(kInvalidPayload, "invalid UTF-8 in text message");
    if (!utf8_.complete())
      return fail(kInvalidPayload, "text message ends inside a UTF-8 sequence");
  }
  return DecodeResult::message(header + size, {payload, size},
                               text ? MessageKind::Text : MessageKind::Binary);
}

DecodeResult FrameSession::decodeFrame(ByteSpan input) {
  if (message_delivered_) {
    // The previous result pointed into message_; the caller is done with it now. Its
    // storage goes too: reassembly state exists only while a message is being assembled,
    // so an idle connection holds none (a small block costs the allocator little to
    // hand out again; a large one was never worth keeping).
    message_delivered_ = false;
    message_.release();
  }

  const HeaderResult h = parseFrameHeader(input, rules_);
  if (h.status == HeaderResult::Status::NeedMore) return DecodeResult::needMore();
  if (h.status == HeaderResult::Status::Error) return fail(h.code, h.reason);
  const FrameHeader& f = h.header;

  const DecodeResult rules = checkSessionRules(f);
  if (rules.status == DecodeResult::Status::Error) return rules;

  const std::size_t available = input.size() - f.header_size;
  if (frame_done_ > available) {
    // The caller dropped bytes it was not told to drop, or re-filled the buffer: the
    // unmasked state cannot be trusted any more.
    return fail(close_code::kInternalError, "input does not continue the previous one");
  }
  // Unmasking rewrites the caller's read buffer; the codec contract allows it (see WebSocketCodec).
  std::byte* payload = const_cast<std::byte*>(input.data()) + f.header_size;
  const std::size_t ready =
      static_cast<std::size_t>(std::min<std::uint64_t>(available, f.payload_size));
  if (ready > frame_done_) {
    std::byte* fresh = payload + frame_done_;
    const std::size_t n = ready - frame_done_;
    if (f.masked) unmask(fresh, n, f.mask, frame_done_);
    frame_done_ = ready;
    if (!f.isControl()) {
      DecodeResult r = processPayload(f, fresh, n);
      if (r.status == DecodeResult::Status::Error) return r;
    }
  }
  if (ready < f.payload_size) return DecodeResult::needMore();
  frame_done_ = 0;
  return finishFrame(f, payload, f.header_size + ready);
}

// Session rules the frame parser cannot know (RFC 6455 5.4), checked from the header before
// any payload arrives so a broken peer is stopped at once.
DecodeResult FrameSession::checkSessionRules(const FrameHeader& f) {
  if (f.isControl()) return DecodeResult::needMore();
  if (f.opcode == opcode::kContinuation) {
    if (!in_message_) return fail(kProtocolError, "continuation frame without a message");
  } else if (in_message_) {
    return fail(kProtocolError, "new data frame inside a fragmented message");
  }
  const bool compressed = f.opcode == opcode::kContinuation ? message_compressed_ : f.rsv1;
  if (compressed) {
    // Compressed bytes sit in the caller's buffer until their frame is complete, so they
    // are bounded too; deflate can grow incompressible data by 5 bytes per 64 KiB block,
    // hence the small allowance over the message limit.
    if (f.payload_size > max_message_ + max_message_ / 1024 + 64) {
      return fail(kMessageTooBig, "message too big");
    }
  } else {
    const std::size_t assembled = in_message_ ? message_.size() : 0;
    if (f.payload_size > max_message_ - assembled) return fail(kMessageTooBig, "message too big");
  }
  return DecodeResult::needMore();
}

// Checks or inflates `size` freshly unmasked payload bytes of a data frame, failing fast.
DecodeResult FrameSession::processPayload(const FrameHeader& f, std::byte* data, std::size_t size) {
  const bool first = f.opcode != opcode::kContinuation;
  const bool text = first ? f.opcode == opcode::kText : message_text_;
  const bool compressed = first ? f.rsv1 : message_compressed_;
  if (!compressed) {
    if (text && !utf8_.feed({data, size}))
      return fail(kInvalidPayload, "invalid UTF-8 in text message");
    return DecodeResult::needMore();
  }
  return inflateChecked({data, size}, false, text);
}

// Inflates the next compressed bytes (or, with `finish`, the message's tail) into message_.
// Freshly inflated text is UTF-8 checked before a zlib verdict is reported, so the error a
// bad message gets does not depend on how its bytes were split into reads: the same output
// prefix is checked either way.
DecodeResult FrameSession::inflateChecked(ByteSpan in, bool finish, bool text) {
  const std::size_t before = message_.size();
  const PerMessageDeflate::Status st = finish ? deflate_->finishMessage(message_, max_message_)
                                              : deflate_->inflate(in, message_, max_message_);
  if (text && !utf8_.feed(message_.view().subspan(before))) {
    return fail(kInvalidPayload, "invalid UTF-8 in text message");
  }
  switch (st) {
    case PerMessageDeflate::Status::TooBig:
      return fail(kMessageTooBig, "message too big");
    case PerMessageDeflate::Status::Corrupt:
      return fail(kInvalidPayload, "invalid compressed data");
    case PerMessageDeflate::Status::Ok:
      break;
  }
  return DecodeResult::needMore();
}

DecodeResult FrameSession::finishFrame(const FrameHeader& f, std::byte* payload,
                                       std::size_t consumed) {
  const ByteSpan data(payload, static_cast<std::size_t>(f.payload_size));
  switch (f.opcode) {
    case opcode::kPing:
      return withStatus(DecodeResult::Status::Ping, consumed, data);
    case opcode::kPong:
      return withStatus(DecodeResult::Status::Pong, consumed, data);
    case opcode::kClose:
      return finishClose(data, consumed);
    default:
      break;
  }

  const bool first = f.opcode != opcode::kContinuation;
  if (first) {
    message_text_ = f.opcode == opcode::kText;
    message_compressed_ = f.rsv1;
  }
  // The common case, one uncompressed frame: hand out the payload where it lies.
  if (first && f.fin && !f.rsv1) {
    if (message_text_ && !utf8_.complete()) {
      return fail(kInvalidPayload, "text message ends inside a UTF-8 sequence");
    }
    utf8_.reset();
    return DecodeResult::message(consumed, data,
                                 message_text_ ? MessageKind::Text : MessageKind::Binary);
  }
  if (!message_compressed_) message_.append(data);
  if (!f.fin) {
    in_message_ = true;
    return DecodeResult::needMore(consumed);
  }
  return deliverAssembled(consumed);
}

DecodeResult FrameSession::deliverAssembled(std::size_t consumed) {
  if (message_compressed_) {
    const DecodeResult r = inflateChecked({}, true, message_text_);
    if (r.status == DecodeResult::Status::Error) return r;
  }
  if (message_text_ && !utf8_.complete()) {
    return fail(kInvalidPayload, "text message ends inside a UTF-8 sequence");
  }
  utf8_.reset();
  in_message_ = false;
  message_delivered_ = true;
  return DecodeResult::message(consumed, message_.view(),
                               message_text_ ? MessageKind::Text : MessageKind::Binary);
}

// RFC 6455 5.5.1 and 7.4: an empty Close means "no status" (1005); otherwise a valid code,
// then a UTF-8 reason.
DecodeResult FrameSession::finishClose(ByteSpan payload, std::size_t consumed) {
  std::uint16_t code = close_code::kNoStatus;
  if (payload.size() == 1) return fail(kProtocolError, "close frame with a 1-byte payload");
  if (payload.size() >= 2) {
    code = loadBigEndian16(payload.data());
    if (!isValidCloseCode(code)) return fail(kProtocolError, "invalid close code");
    payload = payload.subspan(2);
    if (!Utf8Validator::isValid(payload))
      return fail(kInvalidPayload, "close reason is not valid UTF-8");
  }
  DecodeResult r = withStatus(DecodeResult::Status::Close, consumed, payload);
  r.code = code;
  return r;
}

const std::byte* FrameSession::nextMaskKey(std::byte (&key)[4]) {
  if (role_ == Role::Server) return nullptr;
  // RFC 6455 5.3: a fresh key per frame, so a peer cannot choose the bytes on the wire.
  (*random_)(std::span<std::byte>(key));
  return key;
}

void FrameSession::appendFrame(std::uint8_t op, ByteSpan payload, std::string& out) {
  std::byte key[4];
  const std::byte* mask = nextMaskKey(key);
  appendFrameHeader(out, true, false, op, payload.size(), mask);
  const std::size_t start = out.size();
  out.append(asString(payload));
  if (mask) {
    std::uint32_t m;
    std::memcpy(&m, mask, 4);
    unmask(reinterpret_cast<std::byte*>(out.data() + start), payload.size(), m, 0);
  }
}

void FrameSession::appendCompressed(std::uint8_t op, ByteSpan payload, std::string& out) {
  // The header's size depends on the compressed size, so leave room for the largest header,
  // compress behind it, then close the gap: one memmove instead of a scratch buffer that
  // every connection would keep.
  const std::size_t start = out.size();
  out.append(kMaxHeaderSize, '\0');
  deflate_->compress(payload, out);
  const std::size_t body = out.size() - start - kMaxHeaderSize;
  std::byte key[4];
  const std::byte* mask = nextMaskKey(key);
  char header[kMaxHeaderSize];
  const std::size_t h = writeFrameHeader(header, true, true, op, body, mask);
  char* base = out.data() + start;
  std::memmove(base + h, base + kMaxHeaderSize, body);
  std::memcpy(base, header, h);
  out.resize(start + h + body);
  if (mask) {
    std::uint32_t m;
    std::memcpy(&m, mask, 4);
    unmask(reinterpret_cast<std::byte*>(base + h), body, m, 0);
  }
}

void FrameSession::encode(ByteSpan payload, MessageKind kind, std::string& out) {
  const std::uint8_t op = kind == MessageKind::Text ? opcode::kText : opcode::kBinary;
  if (deflate_ && payload.size() >= deflate_->options().min_compress_size) {
    appendCompressed(op, payload, out);
  } else if (role_ == Role::Server && payload.size() <= kMaxControlPayload) {
    // Nearly every message a server sends: a 2-byte header and the payload as it is, written
    // in place after one resize (one length check for the frame, not one per part).
    const std::size_t start = out.size();
    out.resize(start + 2 + payload.size());
    char* frame = out.data() + start;
    writeFrameHeader(frame, true, false, op, payload.size());
    if (!payload.empty()) std::memcpy(frame + 2, payload.data(), payload.size());
  } else {
    appendFrame(op, payload, out);
  }
}

bool FrameSession::encodeHead(ByteSpan payload, MessageKind kind, std::string& head) {
  if (role_ != Role::Server ||
      (deflate_ && payload.size() >= deflate_->options().min_compress_size))
    return false;
  const std::uint8_t op = kind == MessageKind::Text ? opcode::kText : opcode::kBinary;
  appendFrameHeader(head, true, false, op, payload.size(), nullptr);
  return true;
}

void FrameSession::encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                                 std::string& out) {
  using S = DecodeResult::Status;
  if (kind == S::Ping || kind == S::Pong) {
    payload = payload.first(std::min(payload.size(), kMaxControlPayload));
    appendFrame(kind == S::Ping ? opcode::kPing : opcode::kPong, payload, out);
    return;
  }
  if (kind != S::Close) return;
  if (!isValidCloseCode(code)) {
    // 1005 means "no status" and is expressed by an empty Close; the other unsendable
    // codes (1004, 1006, 1015, out of range) cannot be sent either, so the same applies.
    appendFrame(opcode::kClose, {}, out);
    return;
  }
  std::string_view reason = asString(payload);
  if (reason.size() > kMaxControlPayload - 2) {
    // Cut before a continuation byte so the peer does not see a broken character (1007).
    std::size_t n = kMaxControlPayload - 2;
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
    reason = reason.substr(0, n);
  }
  char body[kMaxControlPayload];
  body[0] = static_cast<char>(code >> 8);
  body[1] = static_cast<char>(code & 0xff);
  // An empty reason may have no storage at all: memcpy from null is undefined even for 0.
  if (!reason.empty()) std::memcpy(body + 2, reason.data(), reason.size());
  appendFrame(opcode::kClose, asBytes(std::string_view(body, 2 + reason.size())), out);
}

}  // namespace wman::ws
