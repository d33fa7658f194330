// The "redis" protocol: a client's side of RESP2, framed by hiredis's reader. Each decoded
// message is one complete reply (a command's answer or a pub/sub push), re-encoded in
// canonical RESP so parseRedisReply() can turn it into a tree when the receiver needs one.
#pragma once

#include <cstddef>
#include <string>

#include "wman/codec.h"

struct redisReader;

namespace wman {

// Decodes replies from a Redis server. One instance per connection; not thread-safe.
class RedisCodec final : public Codec {
 public:
  // A reply may span at most limits.max_package_size bytes on the wire and hold at most
  // kRedisMaxReplyValues values; a bigger one is an error, caught while it arrives, so the
  // reader never holds more than that plus one byte of it.
  explicit RedisCodec(const CodecLimits& limits = {});
  ~RedisCodec() override;
  RedisCodec(const RedisCodec&) = delete;
  RedisCodec& operator=(const RedisCodec&) = delete;

  // Returns one reply as a Binary message whose payload (codec-owned, valid until the next
  // call) is its canonical RESP form: the bytes as received, except that a nil array reads
  // "$-1\r\n". Bytes of an unfinished reply are consumed into the reader (NeedMore with
  // consumed > 0). After a message, bytes past the reply stay unconsumed so the caller
  // presents them again; the codec remembers it already holds them. Errors: kMalformed for
  // what hiredis rejects (the reason carries its message) and kTooLarge past the limits.
  DecodeResult decode(ByteSpan input) override;

  // Appends `payload` unchanged: it must already be a command's wire form
  // (formatRedisCommand()). `kind` is ignored.
  void encode(ByteSpan payload, MessageKind kind, std::string& out) override;

  // True while part of a reply has been consumed but not yet returned.
  bool inMessage() const override { return held_ > ahead_; }

  // Called by the reader's value hooks (see redis_codec.cpp); not for users.
  struct Hooks;

 private:
  DecodeResult fail(std::uint16_t code, std::string reason);

  redisReader* reader_ = nullptr;
  std::size_t max_size_;
  std::size_t ahead_ = 0;   // leading input bytes the reader already holds (fed, unconsumed)
  std::size_t held_ = 0;    // bytes fed to the reader since the current reply began
  std::size_t values_ = 0;  // values of the current reply so far
  std::string building_;    // canonical form of the current reply so far
  std::string payload_;     // the last reply returned
  std::string reason_;      // why the codec failed, once it did
  std::uint16_t error_code_ = 0;
  bool rejected_ = false;  // a hook refused a value (reason_ says why)
};

// Registers RedisCodec as protocol "redis" (so "redis://host:port" works as an
// AsyncConnection URL). Idempotent and thread-safe; returns true once it is registered.
bool registerRedisProtocol();

}  // namespace wman
