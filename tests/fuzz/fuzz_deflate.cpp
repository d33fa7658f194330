// libFuzzer target for the permessage-deflate data path. The first byte sets the parameters
// (window bits, context takeover, inflate limit); the rest is used twice: inflated as if a
// client had sent it (must never exceed the limit or crash), and, cut into messages at 0xff
// bytes, compressed by one PerMessageDeflate and inflated by another, which must give every
// message back unchanged across the whole sequence (context takeover or not).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/deflate.h"

#include "fuzz_check.h"

namespace {

using wman::asBytes;
using wman::asString;
using wman::ws::ByteBuffer;
using wman::ws::PerMessageDeflate;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t p = data[0];
  wman::ws::DeflateParams params;
  params.server_max_window_bits = 8 + (p & 7);
  params.client_max_window_bits = params.server_max_window_bits;
  params.server_no_context_takeover = (p & 0x08) != 0;
  params.client_no_context_takeover = params.server_no_context_takeover;
  const std::size_t limit = (p & 0x10) != 0 ? 64 : 1 << 20;
  wman::ws::DeflateOptions options;
  options.level = 1 + (p >> 5);
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  {
    // Arbitrary bytes as a compressed message, in two pieces.
    PerMessageDeflate inflater(params, options);
    ByteBuffer out;
    // TooBig is reported with exactly one byte over the limit stored, never more.
    auto bounded = [&](PerMessageDeflate::Status st) {
      FUZZ_CHECK(out.size() <= limit + (st == PerMessageDeflate::Status::TooBig ? 1 : 0));
      if (st == PerMessageDeflate::Status::TooBig) FUZZ_CHECK(out.size() == limit + 1);
      return st == PerMessageDeflate::Status::Ok;
    };
    const std::size_t half = input.size() / 2;
    if (bounded(inflater.inflate(asBytes(input.substr(0, half)), out, limit)) &&
        bounded(inflater.inflate(asBytes(input.substr(half)), out, limit))) {
      bounded(inflater.finishMessage(out, limit));
    }
  }

  PerMessageDeflate sender(params, options);
  PerMessageDeflate receiver(params, options);
  std::string_view rest = input;
  while (true) {
    const std::size_t cut = rest.find('\xff');
    const std::string_view message = rest.substr(0, cut);
    std::string wire;
    sender.compress(asBytes(message), wire);
    ByteBuffer out;
    // Deliver the compressed bytes in two pieces, as frames of a fragmented message would.
    const std::size_t half = wire.size() / 2;
    FUZZ_CHECK(receiver.inflate(asBytes(std::string_view(wire).substr(0, half)), out, 1 << 20) ==
               PerMessageDeflate::Status::Ok);
    FUZZ_CHECK(receiver.inflate(asBytes(std::string_view(wire).substr(half)), out, 1 << 20) ==
               PerMessageDeflate::Status::Ok);
    FUZZ_CHECK(receiver.finishMessage(out, 1 << 20) == PerMessageDeflate::Status::Ok);
    FUZZ_CHECK(asString(out.view()) == message);
    if (cut == std::string_view::npos) break;
    rest.remove_prefix(cut + 1);
  }
  return 0;
}
