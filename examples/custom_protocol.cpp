// A custom protocol registered by name: "netstring" (djb's format, "5:hello,").
//   build/bin/example_custom_protocol start     then   printf '5:hello,' | nc 127.0.0.1 9002
// The codec is pure: it sees bytes, returns DecodeResults and appends encodings. The
// registry makes "netstring://" usable in Worker URLs and in config files alike.
#include <wman/codec.h>
#include <wman/protocol_registry.h>
#include <wman/run.h>
#include <wman/worker.h>

#include <charconv>

namespace {

class NetstringCodec final : public wman::Codec {
 public:
  explicit NetstringCodec(const wman::CodecLimits& limits) : max_(limits.max_package_size) {}

  wman::DecodeResult decode(wman::ByteSpan input) override {
    std::string_view s = wman::asString(input);
    auto colon = s.find(':');
    if (colon == std::string_view::npos) {
      // Only digits may precede the colon; more than 20 of them cannot be a valid length.
      if (s.size() > 20) return wman::DecodeResult::error(wman::codec_error::kMalformed, "no ':'");
      return wman::DecodeResult::needMore();
    }
    std::size_t len = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + colon, len);
    if (ec != std::errc() || end != s.data() + colon || colon == 0) {
      return wman::DecodeResult::error(wman::codec_error::kMalformed, "bad length");
    }
    if (len > max_) return wman::DecodeResult::error(wman::codec_error::kTooLarge, "too large");
    std::size_t total = colon + 1 + len + 1;
    if (s.size() < total) return wman::DecodeResult::needMore();
    if (s[total - 1] != ',') {
      return wman::DecodeResult::error(wman::codec_error::kMalformed, "missing ','");
    }
    return wman::DecodeResult::message(total, input.subspan(colon + 1, len),
                                       wman::MessageKind::Binary);
  }

  void encode(wman::ByteSpan payload, wman::MessageKind, std::string& out) override {
    out += std::to_string(payload.size());
    out += ':';
    out += wman::asString(payload);
    out += ',';
  }

 private:
  std::size_t max_;
};

}  // namespace

int main(int argc, char** argv) {
  wman::ProtocolRegistry::add("netstring", [](const wman::CodecLimits& limits) {
    return std::make_unique<NetstringCodec>(limits);
  });
  wman::Worker worker{"netstring://127.0.0.1:9002"};
  worker.name = "netstring-echo";
  worker.onMessage = [](wman::Connection& c, wman::Message m) { c.send(m); };
  return wman::runAll(argc, argv);
}
