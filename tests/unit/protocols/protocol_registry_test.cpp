// ProtocolRegistry: built-ins without registration, custom protocols, refusals. The registry
// is process-wide, so every test registers names no other test uses.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "frame/frame_codec.h"
#include "tcp/raw_codec.h"
#include "text/text_codec.h"
#include "wman/protocol_registry.h"

namespace wman {
namespace {

// A codec that remembers the limits and a tag, so tests can tell which factory made it.
class TagCodec final : public Codec {
 public:
  TagCodec(int tag, const CodecLimits& limits) : tag(tag), limits(limits) {}
  DecodeResult decode(ByteSpan) override { return DecodeResult::needMore(); }
  void encode(ByteSpan, MessageKind, std::string&) override {}
  int tag;
  CodecLimits limits;
};

CodecFactory tagFactory(int tag) {
  return [tag](const CodecLimits& limits) { return std::make_unique<TagCodec>(tag, limits); };
}

int tagOf(const std::unique_ptr<Codec>& codec) {
  const auto* t = dynamic_cast<const TagCodec*>(codec.get());
  return t != nullptr ? t->tag : -1;
}

TEST_CASE("registry: built-ins are present without any registration", "[registry]") {
  CHECK(ProtocolRegistry::contains("tcp"));
  CHECK(ProtocolRegistry::contains("text"));
  CHECK(ProtocolRegistry::contains("frame"));
  const CodecLimits limits{};
  CHECK(dynamic_cast<RawCodec*>(ProtocolRegistry::create("tcp", limits).get()) != nullptr);
  CHECK(dynamic_cast<TextCodec*>(ProtocolRegistry::create("text", limits).get()) != nullptr);
  CHECK(dynamic_cast<FrameCodec*>(ProtocolRegistry::create("frame", limits).get()) != nullptr);
}

TEST_CASE("registry: built-ins receive the limits they are created with", "[registry]") {
  auto text = ProtocolRegistry::create("text", CodecLimits{4});
  REQUIRE(text != nullptr);
  CHECK(text->decode(asBytes("abcd")).status == DecodeResult::Status::Error);
  auto frame = ProtocolRegistry::create("frame", CodecLimits{8});
  REQUIRE(frame != nullptr);
  CHECK(frame->decode(asBytes(std::string("\0\0\0\x09", 4))).status == DecodeResult::Status::Error);
}

TEST_CASE("registry: each create() returns a fresh codec", "[registry]") {
  auto a = ProtocolRegistry::create("text", {});
  auto b = ProtocolRegistry::create("text", {});
  REQUIRE(a != nullptr);
  CHECK(a.get() != b.get());
}

TEST_CASE("registry: unknown names give nullptr", "[registry]") {
  CHECK_FALSE(ProtocolRegistry::contains("no-such-proto"));
  CHECK(ProtocolRegistry::create("no-such-proto", {}) == nullptr);
  CHECK(ProtocolRegistry::create("", {}) == nullptr);
  CHECK(ProtocolRegistry::create("TEXT", {}) == nullptr);
}

TEST_CASE("registry: a custom protocol is created with the caller's limits", "[registry]") {
  REQUIRE(ProtocolRegistry::add("test-custom", tagFactory(7)));
  CHECK(ProtocolRegistry::contains("test-custom"));
  auto codec = ProtocolRegistry::create("test-custom", CodecLimits{1234});
  REQUIRE(tagOf(codec) == 7);
  CHECK(static_cast<TagCodec&>(*codec).limits.max_package_size == 1234);
}

TEST_CASE("registry: a taken name is refused and the first factory stays", "[registry]") {
  REQUIRE(ProtocolRegistry::add("test-dup", tagFactory(1)));
  CHECK_FALSE(ProtocolRegistry::add("test-dup", tagFactory(2)));
  CHECK(tagOf(ProtocolRegistry::create("test-dup", {})) == 1);

  CHECK_FALSE(ProtocolRegistry::add("text", tagFactory(3)));
  CHECK(dynamic_cast<TextCodec*>(ProtocolRegistry::create("text", {}).get()) != nullptr);
}

TEST_CASE("registry: names that no URL scheme could match are refused", "[registry]") {
  for (const char* name : {"", "Upper", "1st", "-dash", "has space", "a/b", "a:b", "ü"}) {
    INFO("name \"" << name << "\"");
    CHECK_FALSE(ProtocolRegistry::add(name, tagFactory(4)));
    CHECK_FALSE(ProtocolRegistry::contains(name));
  }
  CHECK(ProtocolRegistry::add("test.v2+x-y", tagFactory(5)));
}

TEST_CASE("registry: an empty factory is refused", "[registry]") {
  CHECK_FALSE(ProtocolRegistry::add("test-empty", CodecFactory{}));
  CHECK_FALSE(ProtocolRegistry::contains("test-empty"));
}

TEST_CASE("registry: names() lists built-ins and additions, sorted", "[registry]") {
  REQUIRE(ProtocolRegistry::add("test-listed", tagFactory(6)));
  const std::vector<std::string> names = ProtocolRegistry::names();
  CHECK(std::is_sorted(names.begin(), names.end()));
  for (const char* n : {"tcp", "text", "frame", "test-listed"}) {
    INFO(n);
    CHECK(std::count(names.begin(), names.end(), n) == 1);
  }
}

// A factory that wraps another protocol must be able to ask the registry for it; holding the
// registry lock while calling factories would deadlock here.
TEST_CASE("registry: a factory may use the registry itself", "[registry]") {
  REQUIRE(ProtocolRegistry::add("test-wrapper", [](const CodecLimits& limits) {
    return ProtocolRegistry::create("text", limits);
  }));
  CHECK(dynamic_cast<TextCodec*>(ProtocolRegistry::create("test-wrapper", {}).get()) != nullptr);
}

}  // namespace
}  // namespace wman
