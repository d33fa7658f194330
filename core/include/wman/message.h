// One decoded message as handed to onMessage: a view of bytes plus its kind.
#pragma once

#include <string>
#include <string_view>

#include "wman/codec.h"

namespace wman {

// A non-owning view of one received message. Valid only during the onMessage call that
// received it; copy it (str()) to keep it longer.
class Message {
 public:
  Message() = default;
  Message(ByteSpan bytes, MessageKind kind) : bytes_(bytes), kind_(kind) {}
  Message(std::string_view text, MessageKind kind) : bytes_(asBytes(text)), kind_(kind) {}

  ByteSpan bytes() const { return bytes_; }
  std::string_view view() const { return asString(bytes_); }
  std::string str() const { return std::string(view()); }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  MessageKind kind() const { return kind_; }
  bool isText() const { return kind_ == MessageKind::Text; }
  operator std::string_view() const { return view(); }

 private:
  ByteSpan bytes_{};
  MessageKind kind_ = MessageKind::Binary;
};

}  // namespace wman
