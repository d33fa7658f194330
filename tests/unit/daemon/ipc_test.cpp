// The master<->worker channel messages: every type survives encode/decode unchanged, and
// anything else a channel could carry decodes to nullopt instead of throwing.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ipc.h"

namespace ipc = wman::daemon::ipc;
using wman::daemon::Json;

namespace {

// Field-by-field equality through the same fields() list the codec walks.
template <class M>
bool sameFields(const M& a, const M& b) {
  Json ja = Json::object();
  Json jb = Json::object();
  ipc::writeFields(a, ja);
  ipc::writeFields(b, jb);
  return ja == jb;
}

ipc::Message roundTrip(const ipc::Message& m) {
  std::string why;
  std::optional<ipc::Message> back = ipc::decode(ipc::encode(m), &why);
  INFO(why);
  REQUIRE(back.has_value());
  REQUIRE(back->index() == m.index());
  return *back;
}

// One sample of every message, none left at its defaults where a field has a value.
std::vector<ipc::Message> samples() {
  ipc::Heartbeat hb{1024, 3, 99, 1, 2, 4, 5, 6, 7, 8, false, 9};
  ipc::ConnectionsPage page{7, 2, {}, true, ""};
  page.list.push_back({11, "text", "127.0.0.1:80", "10.0.0.1:5555", 10, 20, 30, "established"});
  page.list.push_back({12, "ws", "unix:/run/a", "", 0, 0, 0, "closing"});
  return {ipc::Ready{4242},
          hb,
          ipc::Failed{"cannot serve tcp://0.0.0.0:1: Permission denied"},
          ipc::Retired{},
          page,
          ipc::ConnectionsPage{9, 0, {}, false, "no such query"},
          ipc::Stop{"drain", 30000},
          ipc::ConnectionsRequest{7, 3, 500},
          ipc::ConnectionsEnd{7},
          ipc::ReopenLogs{},
          ipc::BusHello{"00000000000000ff", 77, {{1, "alice"}, {2, "lobby"}}},
          ipc::BusInterest{2, "room", false},
          ipc::BusRoute{2, "room", ipc::Binary({0, 'a', 0xff}), {"n:1:1:2"}, false},
          ipc::BusAsk{5, 3, "room", 1500},
          ipc::BusReply{5, 2, {"u1", "u2"}, 3, 4},
          ipc::BusStats{"vm", 1, 2, 3, 4, 5, 6, 7, 13, 14, "up", 8, 9, 10, 11, 12, "boom"}};
}

}  // namespace

TEST_CASE("ipc: every message type survives a round trip", "[ipc]") {
  std::vector<std::size_t> covered;
  for (const ipc::Message& m : samples()) {
    const ipc::Message back = roundTrip(m);
    CHECK(ipc::tag(back) == ipc::tag(m));
    std::visit(
        [&](const auto& original) {
          using M = std::decay_t<decltype(original)>;
          CHECK(sameFields(original, std::get<M>(back)));
        },
        m);
    covered.push_back(m.index());
  }
  for (std::size_t i = 0; i < std::variant_size_v<ipc::Message>; ++i) {
    INFO("variant alternative " << i << " has no sample");
    CHECK(std::find(covered.begin(), covered.end(), i) != covered.end());
  }
}

TEST_CASE("ipc: a frame is a MessagePack map tagged by \"t\"", "[ipc]") {
  const std::string frame = ipc::encode(ipc::Stop{"fast", 5});
  auto doc = Json::from_msgpack(frame, true, false);
  REQUIRE_FALSE(doc.is_discarded());
  CHECK(doc == Json::object({{"t", "stop"}, {"mode", "fast"}, {"timeout_ms", 5}}));
  // The field order of the struct is kept, "t" first.
  CHECK(doc.begin().key() == "t");
}

TEST_CASE("ipc: truncated or garbage frames decode to nullopt", "[ipc]") {
  ipc::ConnectionsPage page{1, 0, {{5, "text", "a", "b", 1, 2, 3, "established"}}, false, ""};
  const std::string frame = ipc::encode(page);
  for (std::size_t n = 0; n < frame.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK_FALSE(ipc::decode(frame.substr(0, n)));
  }
  std::string why;
  CHECK_FALSE(ipc::decode(frame + "x", &why));  // trailing bytes
  CHECK_FALSE(why.empty());
  CHECK_FALSE(ipc::decode("{\"t\":\"stop\"}"));  // JSON text is not a frame
  CHECK_FALSE(ipc::decode(std::string("\xc1\xff\x00", 3)));
  CHECK_FALSE(ipc::decode(std::string(100000, '\x91')));             // arrays nested 100000 deep
  CHECK_FALSE(ipc::decode(std::string("\xdd\xff\xff\xff\xff", 5)));  // claims 4G elements
}

TEST_CASE("ipc: unknown types, untagged maps and mistyped members are rejected", "[ipc]") {
  auto frame = [](const Json& doc) {
    std::string out;
    Json::to_msgpack(doc, out);
    return out;
  };
  std::string why;
  CHECK_FALSE(ipc::decode(frame(Json::object({{"t", "hello"}, {"node", 1}})), &why));
  CHECK(why == "unknown message type \"hello\"");
  CHECK_FALSE(ipc::decode(frame(Json::object({{"mode", "fast"}})), &why));
  CHECK(why == "frame without a message type");
  CHECK_FALSE(ipc::decode(frame(Json::object({{"t", 5}}))));
  CHECK_FALSE(ipc::decode(frame(Json::array({"stop"})), &why));
  CHECK(why == "frame is not a map");
  CHECK_FALSE(ipc::decode(frame(Json::object({{"t", "stop"}, {"timeout_ms", "soon"}})), &why));
  CHECK(why == "message \"stop\" has a member of the wrong type");
  // A row of a page with the wrong type fails the whole page.
  CHECK_FALSE(ipc::decode(frame(
      Json::object({{"t", "conns_page"}, {"list", Json::array({Json::object({{"id", "x"}})})}}))));
  // Out of range for the member's type: never wrapped into a plausible value.
  CHECK_FALSE(ipc::decode(frame(Json::object({{"t", "ready"}, {"pid", 1e30}}))));
}

TEST_CASE("ipc: missing members keep their defaults; extra ones are ignored", "[ipc]") {
  std::string out;
  Json::to_msgpack(Json::object({{"t", "stop"}, {"mode", "close"}, {"later", true}}), out);
  auto msg = ipc::decode(out);
  REQUIRE(msg);
  const auto& stop = std::get<ipc::Stop>(*msg);
  CHECK(stop.mode == "close");
  CHECK(stop.timeout_ms == ipc::Stop{}.timeout_ms);
}

TEST_CASE("ipc: strings are binary-safe", "[ipc]") {
  static constexpr char kRaw[] = "nul\0byte \xff\xfe invalid UTF-8 \n\x7f";
  const std::string raw(kRaw, sizeof kRaw - 1);
  auto back = roundTrip(ipc::Failed{raw});
  CHECK(std::get<ipc::Failed>(back).error == raw);
  ipc::ConnectionsPage page;
  page.list.push_back({1, "text", raw, std::string(70000, '\0'), 0, 0, 0, "closed"});
  auto p = std::get<ipc::ConnectionsPage>(roundTrip(page));
  CHECK(p.list.at(0).local == raw);
  CHECK(p.list.at(0).remote == std::string(70000, '\0'));
}

namespace {

// A message type as a later one would be written, with a Binary payload and nested lists.
struct Blob {
  std::string name;
  ipc::Binary data;
  std::vector<std::string> groups;
  std::vector<std::int64_t> ids;
  static constexpr auto fields() {
    return std::tuple{ipc::field("name", &Blob::name), ipc::field("data", &Blob::data),
                      ipc::field("groups", &Blob::groups), ipc::field("ids", &Blob::ids)};
  }
};

}  // namespace

TEST_CASE("ipc: Binary members travel as MessagePack bin, byte for byte", "[ipc]") {
  Blob b;
  b.name = "n";
  b.data = ipc::Binary(std::vector<std::uint8_t>{0, 1, 0xff, '\n', 0});
  b.groups = {"g1", "g2"};
  b.ids = {1, -2};
  Json doc = ipc::toValue(b);
  std::string bytes;
  Json::to_msgpack(doc, bytes);
  // bin 8 (0xc4), length 5, then the bytes as they are.
  CHECK(bytes.find(std::string("\xc4\x05\x00\x01\xff\n\x00", 7)) != std::string::npos);
  Json back = Json::from_msgpack(bytes, true, false);
  Blob out;
  REQUIRE(ipc::fromValue(back, out));
  CHECK(out.name == "n");
  CHECK(out.data == b.data);
  CHECK(out.groups == b.groups);
  CHECK(out.ids == b.ids);
  Json wrong = back;
  wrong["data"] = "a string, not bin";
  CHECK_FALSE(ipc::fromValue(wrong, out));
}

TEST_CASE("ipc: bus envelopes convert both ways, binary-safe", "[ipc]") {
  wman::BusEnvelope e;
  e.target = wman::BusTarget::Client;
  e.name = "n:ff:1:2";
  e.data = std::string("a\0\xff\r\n", 5);
  e.exclude = {"x"};
  e.close = true;
  const wman::BusEnvelope back =
      ipc::fromRoute(std::get<ipc::BusRoute>(*ipc::decode(ipc::encode(ipc::toRoute(e)))));
  CHECK(back.target == e.target);
  CHECK(back.name == e.name);
  CHECK(back.data == e.data);
  CHECK(back.exclude == e.exclude);
  CHECK(back.close);
  ipc::BusRoute bad;
  bad.target = 99;
  bad.name = "x";
  CHECK(ipc::fromRoute(bad).name.empty());
  CHECK(ipc::unhex(ipc::hex(0xfedcba9876543210ULL)) == 0xfedcba9876543210ULL);
}
