// The master's control socket: a text:// listener taking one JSON request per line, with a
// cap on concurrent connections, an idle timeout for connections that have no request in
// flight, and a JSON error line carrying a reason for every refusal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "json_doc.h"
#include "wman/config.h"
#include "wman/loop.h"
#include "wman/timer.h"
#include "wman/worker.h"

namespace wman::daemon {

// Longest request line in bytes; a longer one is answered with a JSON error, then closed.
inline constexpr std::size_t kControlMaxLine = 64 * 1024;

// Bounds on the control socket; [daemon] control_max_connections and control_idle_timeout.
struct ControlLimits {
  // Connections open at once; one more is answered with a JSON error and closed.
  std::size_t max_connections = 64;
  // A connection with no request in flight that sends nothing for this long is closed.
  Duration idle_timeout{10000};
};

class ControlServer {
 public:
  // Runs for each request line that is a JSON object with a string "cmd". The handler
  // answers with reply() (after any stream() lines); until then the request is in flight
  // and its connection never counts as idle.
  using Handler = std::function<void(ConnectionId client, const Json& request)>;
  // Runs when a control connection has closed, so requests it left behind can be dropped.
  using CloseHandler = std::function<void(ConnectionId client)>;

  // Configures `worker` (the text:// listener the master starts on `loop`) to serve the
  // control protocol. `worker` and `loop` must outlive this object.
  ControlServer(Worker& worker, Loop& loop, ControlLimits limits, Handler handler,
                CloseHandler on_close);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Sends `msg` as the answer line to `client`'s oldest request in flight, ending it. A
  // client that has gone is ignored, as is client 0 (a request from a signal).
  void reply(ConnectionId client, const Json& msg);
  // Sends one line of a streamed answer; the request stays in flight. False when the client
  // has gone or its send buffer is full.
  bool stream(ConnectionId client, const Json& msg);
  // Bytes queued for `client` and not yet taken by the kernel; 0 once it has gone.
  std::size_t backlog(ConnectionId client) const;
  // Lets `client` queue up to `bytes` (a streamed answer needs more than one line's room).
  void allowBacklog(ConnectionId client, std::size_t bytes);
  // Connections open now.
  std::size_t size() const { return clients_.size(); }

 private:
  struct Client {
    std::uint64_t last_active = 0;  // loop ms of the last request or answer
    std::size_t in_flight = 0;      // requests not yet answered
  };

  void onConnect(Connection& c);
  void onLine(Connection& c, std::string_view line);
  void onError(Connection& c, int code, std::string_view message);
  void sweep();
  static std::string errorLine(const std::string& why);

  Worker& worker_;
  Loop& loop_;
  ControlLimits limits_;
  Handler handler_;
  CloseHandler on_close_;
  std::unordered_map<ConnectionId, Client> clients_;
  TimerId sweep_timer_ = 0;
  std::uint64_t refused_ = 0;         // connections refused at the cap since the last log line
  std::uint64_t refused_logged_ = 0;  // loop ms of that log line
};

}  // namespace wman::daemon
