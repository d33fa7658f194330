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
  std::int64_t shed = 0;  // connections closed by the memory budget
  bool accepting = true;  // false while its listeners are paused
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
                      field("accepting", &H::accepting)};
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

// Every channel message. Each tag must be unique: decode() picks the alternative by it.
using Message = std::variant<Ready, Heartbeat, Failed, Retired, ConnectionsPage, Stop,
                             ConnectionsRequest, ConnectionsEnd, ReopenLogs>;

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
