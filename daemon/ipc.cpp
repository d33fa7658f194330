#include "ipc.h"

#include <charconv>
#include <cstdio>
#include <utility>

namespace wman::daemon::ipc {
namespace {

template <std::size_t... I>
constexpr bool tagsUnique(std::index_sequence<I...>) {
  constexpr std::string_view tags[] = {std::variant_alternative_t<I, Message>::kTag...};
  for (std::size_t a = 0; a < sizeof...(I); ++a) {
    for (std::size_t b = a + 1; b < sizeof...(I); ++b) {
      if (tags[a] == tags[b]) return false;
    }
  }
  return true;
}
static_assert(tagsUnique(std::make_index_sequence<std::variant_size_v<Message>>()),
              "two channel messages share a tag");

// Reads the alternative whose kTag is `t`; nullopt with `why` set when none is or a member
// has the wrong type.
template <std::size_t I = 0>
std::optional<Message> readAs(std::string_view t, const Json& doc, std::string* why) {
  if constexpr (I == std::variant_size_v<Message>) {
    if (why) *why = "unknown message type \"" + std::string(t) + "\"";
    return std::nullopt;
  } else {
    using M = std::variant_alternative_t<I, Message>;
    if (t != M::kTag) return readAs<I + 1>(t, doc, why);
    M m;
    if (!readFields(doc, m)) {
      if (why) *why = "message \"" + std::string(t) + "\" has a member of the wrong type";
      return std::nullopt;
    }
    return Message(std::move(m));
  }
}

}  // namespace

std::string encode(const Message& msg) {
  Json doc = Json::object();
  doc["t"] = tag(msg);
  std::visit([&doc](const auto& m) { writeFields(m, doc); }, msg);
  std::string out;
  Json::to_msgpack(doc, out);
  return out;
}

std::optional<Message> decode(std::string_view frame, std::string* why) {
  std::string error;
  std::optional<Json> doc = parseMsgpack(frame, &error);
  if (!doc) {
    if (why) *why = "unreadable frame: " + error;
    return std::nullopt;
  }
  const Json& t = member(*doc, "t");
  if (!t.is_string()) {
    if (why) *why = doc->is_object() ? "frame without a message type" : "frame is not a map";
    return std::nullopt;
  }
  return readAs(asString(t), *doc, why);
}

BusRoute toRoute(const BusEnvelope& e) {
  BusRoute r;
  r.target = static_cast<std::int64_t>(e.target);
  r.name = e.name;
  r.data = Binary(std::vector<std::uint8_t>(e.data.begin(), e.data.end()));
  r.exclude = e.exclude;
  r.close = e.close;
  return r;
}

BusEnvelope fromRoute(const BusRoute& r) {
  BusEnvelope e;
  const bool known = r.target >= 0 && r.target <= static_cast<std::int64_t>(BusTarget::Channel);
  e.target = known ? static_cast<BusTarget>(r.target) : BusTarget::All;
  if (!known) return e;
  e.name = r.name;
  e.data.assign(r.data.begin(), r.data.end());
  e.exclude = r.exclude;
  e.close = r.close;
  return e;
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::uint64_t unhex(std::string_view s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return v;
}

std::string_view tag(const Message& msg) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kTag; }, msg);
}

}  // namespace wman::daemon::ipc
