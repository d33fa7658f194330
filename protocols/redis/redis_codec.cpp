#include "wman/redis_codec.h"

#include <hiredis/read.h>

#include <algorithm>
#include <charconv>
#include <new>
#include <utility>

#include "wman/protocol_registry.h"
#include "wman/redis_reply.h"

namespace wman {

// The reader's value hooks. hiredis calls them in wire order (an array before its elements),
// so appending each value's canonical form rebuilds the reply without building a tree. The
// object handed back only has to be non-null: hiredis treats null as "out of memory", which
// is how a hook refuses a value.
struct RedisCodec::Hooks {
  static RedisCodec& codec(const redisReadTask* task) {
    return *static_cast<RedisCodec*>(task->privdata);
  }
  static void* accepted(RedisCodec& c) { return &c; }

  static void* refuse(RedisCodec& c, std::uint16_t code, const char* reason) {
    c.rejected_ = true;
    c.error_code_ = code;
    c.reason_ = reason;
    return nullptr;
  }

  // Counts one more value against kRedisMaxReplyValues; false once past it.
  static bool count(RedisCodec& c, std::size_t n) {
    c.values_ += n;
    return c.values_ <= kRedisMaxReplyValues;
  }

  static void appendNumber(std::string& out, char prefix, long long n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.push_back(prefix);
    out.append(digits, end);
    out.append("\r\n");
  }

  static void* string(const redisReadTask* task, char* s, size_t len) {
    RedisCodec& c = codec(task);
    // hiredis 0.14 does not range-check a bulk length, so an absurd one could wrap its
    // arithmetic and point past the buffer; a real string lies within what was fed.
    if (len > c.held_) return refuse(c, codec_error::kMalformed, "bulk string length out of range");
    if (!count(c, 1)) return refuse(c, codec_error::kTooLarge, "redis reply has too many values");
    if (task->type == REDIS_REPLY_STRING) {
      appendNumber(c.building_, '$', static_cast<long long>(len));
      c.building_.append(s, len);
    } else {
      c.building_.push_back(task->type == REDIS_REPLY_ERROR ? '-' : '+');
      c.building_.append(s, len);
    }
    c.building_.append("\r\n");
    return accepted(c);
  }

  static void* array(const redisReadTask* task, int elements) {
    RedisCodec& c = codec(task);
    if (elements < 0) return refuse(c, codec_error::kMalformed, "negative array length");
    if (!count(c, 1 + static_cast<std::size_t>(elements))) {
      return refuse(c, codec_error::kTooLarge, "redis reply has too many values");
    }
    // Elements were counted in advance; do not count them again when they arrive.
    c.values_ -= static_cast<std::size_t>(elements);
    appendNumber(c.building_, '*', elements);
    return accepted(c);
  }

  static void* integer(const redisReadTask* task, long long value) {
    RedisCodec& c = codec(task);
    if (!count(c, 1)) return refuse(c, codec_error::kTooLarge, "redis reply has too many values");
    appendNumber(c.building_, ':', value);
    return accepted(c);
  }

  static void* nil(const redisReadTask* task) {
    RedisCodec& c = codec(task);
    if (!count(c, 1)) return refuse(c, codec_error::kTooLarge, "redis reply has too many values");
    c.building_.append("$-1\r\n");
    return accepted(c);
  }

  static void release(void*) {}
};

namespace {

redisReplyObjectFunctions kCodecHooks = {
    &RedisCodec::Hooks::string, &RedisCodec::Hooks::array,   &RedisCodec::Hooks::integer,
    &RedisCodec::Hooks::nil,    &RedisCodec::Hooks::release,
};

}  // namespace

RedisCodec::RedisCodec(const CodecLimits& limits)
    : reader_(redisReaderCreateWithFunctions(&kCodecHooks)), max_size_(limits.max_package_size) {
  if (!reader_) throw std::bad_alloc();
  reader_->privdata = this;
  // hiredis keeps its buffer between replies unless more than this is unused; a small value
  // returns the memory of a big reply soon after it was read.
  reader_->maxbuf = 64 * 1024;
}

RedisCodec::~RedisCodec() {
  redisReaderFree(reader_);
}

DecodeResult RedisCodec::fail(std::uint16_t code, std::string reason) {
  error_code_ = code;
  reason_ = std::move(reason);
  return DecodeResult::error(error_code_, reason_);
}

DecodeResult RedisCodec::decode(ByteSpan input) {
  // After an error the connection closes; a caller that calls again hears the same error.
  if (error_code_ != 0) return DecodeResult::error(error_code_, reason_);
  // Input bytes the reader holds. The caller keeps unconsumed bytes unchanged, so the first
  // ahead_ bytes are the ones the reader kept from the previous call.
  std::size_t pos = ahead_ < input.size() ? ahead_ : input.size();
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
      if (rejected_) return DecodeResult::error(error_code_, reason_);
      return fail(codec_error::kMalformed, std::string("redis: ") + reader_->errstr);
    }
    // Bytes fed but not parsed yet: all of them while no reply is complete, otherwise the
    // start of later replies.
    const std::size_t unread = reader_->len - reader_->pos;
    if (reply != nullptr) {
      if (held_ - unread > max_size_) {
        return fail(codec_error::kTooLarge, "redis reply exceeds max_package_size");
      }
      // Later replies stay with the caller too, so it calls again while input remains; the
      // reader parses its own copy and the caller's is skipped next time.
      held_ = unread;
      ahead_ = unread;
      values_ = 0;
      payload_.swap(building_);
      building_.clear();
      return DecodeResult::message(pos - unread, asBytes(payload_), MessageKind::Binary);
    }
    if (held_ > max_size_) {
      return fail(codec_error::kTooLarge, "redis reply exceeds max_package_size");
    }
    if (pos == input.size()) {
      ahead_ = 0;
      return DecodeResult::needMore(input.size());
    }
    // The reader never gets more than one byte past the limit of the reply it is reading:
    // that bounds its memory, and makes the outcome independent of how the input was split.
    const std::size_t n = std::min(input.size() - pos, max_size_ + 1 - held_);
    if (redisReaderFeed(reader_, reinterpret_cast<const char*>(input.data() + pos), n) !=
        REDIS_OK) {
      return fail(codec_error::kTooLarge, "redis reader out of memory");
    }
    held_ += n;
    pos += n;
  }
}

void RedisCodec::encode(ByteSpan payload, MessageKind /*kind*/, std::string& out) {
  out.append(asString(payload));
}

bool registerRedisProtocol() {
  ProtocolRegistry::add("redis", [](const CodecLimits& limits) -> std::unique_ptr<Codec> {
    return std::make_unique<RedisCodec>(limits);
  });
  return ProtocolRegistry::contains("redis");
}

}  // namespace wman
