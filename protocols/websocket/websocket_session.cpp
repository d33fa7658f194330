// WebSocketCodec, open phase: the RFC 6455 frame decoder. A frame is processed in place as
// its bytes arrive (unmasked, UTF-8 checked, inflated) and returned once complete.
#include <algorithm>

#include "websocket/websocket_codec.h"

namespace wman {
namespace {

using ws::close_code::kInvalidPayload;
using ws::close_code::kMessageTooBig;
using ws::close_code::kProtocolError;

// Storage kept between messages. A larger buffer is freed after its message was delivered,
// so one big message does not stay with an idle connection.
constexpr std::size_t kRetainedCapacity = 4096;

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

}  // namespace

DecodeResult WebSocketCodec::decodeFrame(ByteSpan input) {
  if (message_delivered_) {
    // The previous result pointed into message_; the caller is done with it now.
    message_delivered_ = false;
    message_.clear();
    if (message_.capacity() > kRetainedCapacity) message_.release();
  }

  const ws::HeaderResult h = ws::parseFrameHeader(input, rules_);
  if (h.status == ws::HeaderResult::Status::NeedMore) return DecodeResult::needMore();
  if (h.status == ws::HeaderResult::Status::Error) return fail(h.code, h.reason);
  const ws::FrameHeader& f = h.header;

  // Session rules the frame parser cannot know (RFC 6455 5.4), checked before any payload
  // arrives so a broken peer is stopped at once.
  if (!f.isControl()) {
    if (f.opcode == ws::opcode::kContinuation) {
      if (!in_message_) return fail(kProtocolError, "continuation frame without a message");
    } else if (in_message_) {
      return fail(kProtocolError, "new data frame inside a fragmented message");
    }
    const bool compressed = f.opcode == ws::opcode::kContinuation ? message_compressed_ : f.rsv1;
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
  }

  const std::size_t available = input.size() - f.header_size;
  if (frame_done_ > available) {
    // The caller dropped bytes it was not told to drop, or re-filled the buffer: the
    // unmasked state cannot be trusted any more.
    return fail(ws::close_code::kInternalError, "input does not continue the previous one");
  }
  // Unmasking rewrites the caller's read buffer; see the class comment for why that is allowed.
  std::byte* payload = const_cast<std::byte*>(input.data()) + f.header_size;
  const std::size_t ready =
      static_cast<std::size_t>(std::min<std::uint64_t>(available, f.payload_size));
  if (ready > frame_done_) {
    std::byte* fresh = payload + frame_done_;
    const std::size_t n = ready - frame_done_;
    if (f.masked) ws::unmask(fresh, n, f.mask, frame_done_);
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

// Checks or inflates `size` freshly unmasked payload bytes of a data frame, failing fast.
DecodeResult WebSocketCodec::processPayload(const ws::FrameHeader& f, std::byte* data,
                                            std::size_t size) {
  const bool first = f.opcode != ws::opcode::kContinuation;
  const bool text = first ? f.opcode == ws::opcode::kText : message_text_;
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
DecodeResult WebSocketCodec::inflateChecked(ByteSpan in, bool finish, bool text) {
  const std::size_t before = message_.size();
  const ws::PerMessageDeflate::Status st = finish ? deflate_->finishMessage(message_, max_message_)
                                                  : deflate_->inflate(in, message_, max_message_);
  if (text && !utf8_.feed(message_.view().subspan(before))) {
    return fail(kInvalidPayload, "invalid UTF-8 in text message");
  }
  switch (st) {
    case ws::PerMessageDeflate::Status::TooBig:
      return fail(kMessageTooBig, "message too big");
    case ws::PerMessageDeflate::Status::Corrupt:
      return fail(kInvalidPayload, "invalid compressed data");
    case ws::PerMessageDeflate::Status::Ok:
      break;
  }
  return DecodeResult::needMore();
}

DecodeResult WebSocketCodec::finishFrame(const ws::FrameHeader& f, std::byte* payload,
                                         std::size_t consumed) {
  const ByteSpan data(payload, static_cast<std::size_t>(f.payload_size));
  switch (f.opcode) {
    case ws::opcode::kPing:
      return withStatus(DecodeResult::Status::Ping, consumed, data);
    case ws::opcode::kPong:
      return withStatus(DecodeResult::Status::Pong, consumed, data);
    case ws::opcode::kClose:
      return finishClose(data, consumed);
    default:
      break;
  }

  const bool first = f.opcode != ws::opcode::kContinuation;
  if (first) {
    message_text_ = f.opcode == ws::opcode::kText;
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

DecodeResult WebSocketCodec::deliverAssembled(std::size_t consumed) {
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
DecodeResult WebSocketCodec::finishClose(ByteSpan payload, std::size_t consumed) {
  std::uint16_t code = ws::close_code::kNoStatus;
  if (payload.size() == 1) return fail(kProtocolError, "close frame with a 1-byte payload");
  if (payload.size() >= 2) {
    code = loadBigEndian16(payload.data());
    if (!ws::isValidCloseCode(code)) return fail(kProtocolError, "invalid close code");
    payload = payload.subspan(2);
    if (!ws::Utf8Validator::isValid(payload))
      return fail(kInvalidPayload, "close reason is not valid UTF-8");
  }
  phase_ = Phase::PeerClosed;
  DecodeResult r = withStatus(DecodeResult::Status::Close, consumed, payload);
  r.code = code;
  return r;
}

}  // namespace wman
