// The messages between the master and its worker processes, one struct each, and the one
// encoder and decoder both sides use. A frame on the channel (a frame:// connection over the
// worker's socketpair) is one MessagePack map: "t" holds the message's tag, the other keys
// its members as listed by fields(). MessagePack keeps strings byte for byte and carries
// Binary members as bin, so payloads never need escaping.
//
// Adding a message: write its struct with a unique kTag and a fields() list (the two lines
// that make its conversion), then add it to Message. Code that switches over Message with
// std::visit must then handle it, or it falls into that visitor's catch-all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "ipc_fields.h"
#include "wman/bus_backend.h"

namespace wman::daemon::ipc {

// ---- worker -> master ----

// The worker's onWorkerStart returned and its listeners are registered: it accepts now.
struct Ready {
  static constexpr std::string_view kTag = "ready";
  std::int64_t pid = 0;
  static constexpr auto fields() { return std::tuple{field("pid", &Ready::pid)}; }
};

// Once a second: the worker's counters. `status` shows them per worker in this order.
struct Heartbeat {
  static constexpr std::string_view kTag = "hb";
  std::int64_t memory_kb = 0;  // resident set size
  std::int64_t connections = 0;
  std::int64_t messages = 0;  // total since start; the master derives qps from it
  std::int64_t send_fail = 0;
  std::int64_t timers = 0;
  std::int64_t protocol_errors = 0;
  std::int64_t callback_errors = 0;
  std::int64_t accept_failures = 0;
  std::int64_t log_suppressed = 0;
  std::int64_t shed = 0;          // connections closed by the memory budget
  bool accepting = true;          // false while its listeners are paused
  std::int64_t bus_dropped = 0;   // bus sends it could not hand to the bus process
  std::int64_t accepted = 0;      // connections accepted since start
  std::int64_t messages_out = 0;  // sends queued since start
  std::int64_t bytes_in = 0;
  std::int64_t bytes_out = 0;
  std::int64_t fds = 0;          // open file descriptors
  std::int64_t loop_lag_us = 0;  // how late its once-a-second timer fired (loop_lag.h)
  // udp:// workers (WorkerStats): datagrams received, sent, and lost (undecodable or too
  // large, refused by the kernel on send, or dropped by it with the receive queue full).
  std::int64_t udp_in = 0;
  std::int64_t udp_out = 0;
  std::int64_t udp_dropped = 0;
  // http:// workers: responses sent by status class (WorkerStats::http_responses).
  std::int64_t http_1xx = 0;
  std::int64_t http_2xx = 0;
  std::int64_t http_3xx = 0;
  std::int64_t http_4xx = 0;
  std::int64_t http_5xx = 0;
  static constexpr auto fields() {
    using H = Heartbeat;
    return std::tuple{field("memory_kb", &H::memory_kb),
                      field("connections", &H::connections),
                      field("messages", &H::messages),
                      field("send_fail", &H::send_fail),
                      field("timers", &H::timers),
                      field("protocol_errors", &H::protocol_errors),
                      field("callback_errors", &H::callback_errors),
                      field("accept_failures", &H::accept_failures),
                      field("log_suppressed", &H::log_suppressed),
                      field("shed", &H::shed),
                      field("accepting", &H::accepting),
                      field("bus_dropped", &H::bus_dropped),
                      field("accepted", &H::accepted),
                      field("messages_out", &H::messages_out),
                      field("bytes_in", &H::bytes_in),
                      field("bytes_out", &H::bytes_out),
                      field("fds", &H::fds),
                      field("loop_lag_us", &H::loop_lag_us),
                      field("udp_in", &H::udp_in),
                      field("udp_out", &H::udp_out),
                      field("udp_dropped", &H::udp_dropped),
                      field("http_1xx", &H::http_1xx),
                      field("http_2xx", &H::http_2xx),
                      field("http_3xx", &H::http_3xx),
                      field("http_4xx", &H::http_4xx),
                      field("http_5xx", &H::http_5xx)};
  }
};

// Start-up failed (app not loadable, listener unusable); the worker exits next.
struct Failed {
  static constexpr std::string_view kTag = "failed";
  std::string error;
  static constexpr auto fields() { return std::tuple{field("error", &Failed::error)}; }
};

// The worker closed its listeners after a Stop: nothing more is accepted by it.
struct Retired {
  static constexpr std::string_view kTag = "retired";
  static constexpr auto fields() { return std::tuple{}; }
};

// One connection in a ConnectionsPage; `wman connections` prints these columns.
struct ConnectionRow {
  std::int64_t id = 0;
  std::string protocol;
  std::string local;
  std::string remote;
  std::int64_t bytes_in = 0;
  std::int64_t bytes_out = 0;
  std::int64_t send_queue = 0;
  std::string state;
  static constexpr auto fields() {
    using R = ConnectionRow;
    return std::tuple{field("id", &R::id),
                      field("protocol", &R::protocol),
                      field("local", &R::local),
                      field("remote", &R::remote),
                      field("bytes_in", &R::bytes_in),
                      field("bytes_out", &R::bytes_out),
                      field("send_queue", &R::send_queue),
                      field("state", &R::state)};
  }
};

// Page `page` of query `req`; `more` says whether page+1 follows. A non-empty `error` ends
// the query (unknown or expired query, page out of order).
struct ConnectionsPage {
  static constexpr std::string_view kTag = "conns_page";
  std::int64_t req = 0;
  std::int64_t page = 0;
  std::vector<ConnectionRow> list;
  bool more = false;
  std::string error;
  static constexpr auto fields() {
    using P = ConnectionsPage;
    return std::tuple{field("req", &P::req), field("page", &P::page), field("list", &P::list),
                      field("more", &P::more), field("error", &P::error)};
  }
};

// ---- master -> worker ----

// Stop the worker. mode: "fast" (drop connections), "close" (flush, then close), "drain"
// (let them end, closing what is left after timeout_ms).
struct Stop {
  static constexpr std::string_view kTag = "stop";
  std::string mode = "fast";
  std::int64_t timeout_ms = 5000;
  static constexpr auto fields() {
    return std::tuple{field("mode", &Stop::mode), field("timeout_ms", &Stop::timeout_ms)};
  }
};

// Ask for page `page` of the worker's connections for query `req`; page 0 takes the snapshot.
struct ConnectionsRequest {
  static constexpr std::string_view kTag = "conns";
  std::int64_t req = 0;
  std::int64_t page = 0;
  std::int64_t page_size = 0;  // rows; 0 means the worker's default
  static constexpr auto fields() {
    using Q = ConnectionsRequest;
    return std::tuple{field("req", &Q::req), field("page", &Q::page),
                      field("page_size", &Q::page_size)};
  }
};

// Query `req` ended early (deadline or client gone): the worker drops its snapshot.
struct ConnectionsEnd {
  static constexpr std::string_view kTag = "conns_end";
  std::int64_t req = 0;
  static constexpr auto fields() { return std::tuple{field("req", &ConnectionsEnd::req)}; }
};

// Reopen the log file (after rotation).
struct ReopenLogs {
  static constexpr std::string_view kTag = "reopen";
  static constexpr auto fields() { return std::tuple{}; }
};

// ---- the bus: worker <-> bus process (over the bus socket), master <-> bus process ----
// Targets and questions travel as the numbers of wman::BusTarget and wman::BusQuestion.

// One uid, group or channel a worker holds receivers for.
struct BusInterestItem {
  std::int64_t target = 0;
  std::string name;
  static constexpr auto fields() {
    return std::tuple{field("k", &BusInterestItem::target), field("n", &BusInterestItem::name)};
  }
};

// A worker's first words on a (new) link: who it is and everything it holds receivers for.
struct BusHello {
  static constexpr std::string_view kTag = "bus_hello";
  std::string incarnation;  // hex, as in its client ids
  std::int64_t pid = 0;
  std::vector<BusInterestItem> interests;
  static constexpr auto fields() {
    return std::tuple{field("inc", &BusHello::incarnation), field("pid", &BusHello::pid),
                      field("i", &BusHello::interests)};
  }
};

// The worker gained its first (on) or lost its last receiver for a name.
struct BusInterest {
  static constexpr std::string_view kTag = "bus_interest";
  std::int64_t target = 0;
  std::string name;
  bool on = true;
  static constexpr auto fields() {
    return std::tuple{field("k", &BusInterest::target), field("n", &BusInterest::name),
                      field("on", &BusInterest::on)};
  }
};

// A message for receivers: from a worker to the bus, from the bus to each receiving worker,
// and from the master (`wman send`) to the bus.
struct BusRoute {
  static constexpr std::string_view kTag = "bus_route";
  std::int64_t target = 0;
  std::string name;
  Binary data;
  std::vector<std::string> exclude;
  bool close = false;
  static constexpr auto fields() {
    return std::tuple{field("k", &BusRoute::target), field("n", &BusRoute::name),
                      field("d", &BusRoute::data), field("x", &BusRoute::exclude),
                      field("c", &BusRoute::close)};
  }
};

// A query: from a worker to the bus (id = the worker's), and from the bus to every worker
// (id = the bus's, to be answered with a BusReply carrying it).
struct BusAsk {
  static constexpr std::string_view kTag = "bus_ask";
  std::int64_t id = 0;
  std::int64_t question = 0;
  std::string name;
  std::int64_t timeout_ms = 0;
  static constexpr auto fields() {
    return std::tuple{field("id", &BusAsk::id), field("q", &BusAsk::question),
                      field("n", &BusAsk::name), field("ms", &BusAsk::timeout_ms)};
  }
};

// An answer: a worker's part (to the bus), or the merged answer (to the asking worker, with
// how many processes and nodes replied of how many asked).
struct BusReply {
  static constexpr std::string_view kTag = "bus_reply";
  std::int64_t id = 0;
  std::int64_t count = 0;
  std::vector<std::string> items;
  std::int64_t replied = 0;
  std::int64_t asked = 0;
  static constexpr auto fields() {
    return std::tuple{field("id", &BusReply::id), field("count", &BusReply::count),
                      field("items", &BusReply::items), field("replied", &BusReply::replied),
                      field("asked", &BusReply::asked)};
  }
};

// Once a second, bus -> master: what `wman status` shows for the bus.
struct BusStats {
  static constexpr std::string_view kTag = "bus_stats";
  std::string node;
  std::int64_t memory_kb = 0;
  std::int64_t links = 0;      // worker processes linked
  std::int64_t interests = 0;  // uids, groups and channels this node holds receivers for
  std::int64_t routed = 0;     // messages handed to the bus
  std::int64_t delivered = 0;  // copies queued to receiving workers
  std::int64_t dropped = 0;    // copies refused: a worker's link queue was full or gone
  std::int64_t queries = 0;
  std::int64_t queued = 0;      // bytes waiting on the links to the workers
  std::int64_t unreadable = 0;  // messages from links that could not be decoded
  std::string redis = "off";    // off, down, connecting, up
  std::int64_t redis_published = 0;
  std::int64_t redis_received = 0;
  std::int64_t redis_dropped = 0;  // publishes refused while Redis was down or slow
  std::int64_t redis_reconnects = 0;
  std::int64_t redis_channels = 0;
  std::string redis_error;
  std::int64_t fds = 0;          // open file descriptors of the bus process
  std::int64_t loop_lag_us = 0;  // how late its once-a-second timer fired
  static constexpr auto fields() {
    using S = BusStats;
    return std::tuple{field("node", &S::node),
                      field("memory_kb", &S::memory_kb),
                      field("links", &S::links),
                      field("interests", &S::interests),
                      field("routed", &S::routed),
                      field("delivered", &S::delivered),
                      field("dropped", &S::dropped),
                      field("queries", &S::queries),
                      field("queued", &S::queued),
                      field("unreadable", &S::unreadable),
                      field("redis", &S::redis),
                      field("redis_published", &S::redis_published),
                      field("redis_received", &S::redis_received),
                      field("redis_dropped", &S::redis_dropped),
                      field("redis_reconnects", &S::redis_reconnects),
                      field("redis_channels", &S::redis_channels),
                      field("redis_error", &S::redis_error),
                      field("fds", &S::fds),
                      field("loop_lag_us", &S::loop_lag_us)};
  }
};

// Every channel message. Each tag must be unique: decode() picks the alternative by it.
using Message = std::variant<Ready, Heartbeat, Failed, Retired, ConnectionsPage, Stop,
                             ConnectionsRequest, ConnectionsEnd, ReopenLogs, BusHello, BusInterest,
                             BusRoute, BusAsk, BusReply, BusStats>;

// Envelopes to and from BusRoute; a target number out of range reads as All with no name
// (and is refused by the receiver's checks).
BusRoute toRoute(const BusEnvelope& e);
BusEnvelope fromRoute(const BusRoute& r);
// A struct with fields() as a JSON object (status documents).
template <Described M>
Json toJson(const M& m) {
  Json obj = Json::object();
  writeFields(m, obj);
  return obj;
}
// Incarnations in hex, as client ids print them.
std::string hex(std::uint64_t v);
std::uint64_t unhex(std::string_view s);

// The frame for `msg`: a MessagePack map {"t": tag, members...}. Never throws.
std::string encode(const Message& msg);

// The message in `frame`, or nullopt when the frame is truncated, not MessagePack, not a
// map, has no string "t", names an unknown tag or holds a member of the wrong type; `why`
// (if non-null) then says which, in one line for a log. Never throws.
std::optional<Message> decode(std::string_view frame, std::string* why = nullptr);

// The tag of the message `msg` holds, for logs.
std::string_view tag(const Message& msg);

// Overload set for std::visit over Message:
// std::visit(Overloaded{[](const Stop&) {...}, [](const auto&) {...}}, msg).
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace wman::daemon::ipc
