// Rate-limited logging of per-peer failures: at most a few lines per second for each cause,
// then one "suppressed N similar lines" summary, so a flooding peer cannot flood the log.
#pragma once

#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>
#include <string>

namespace wman::detail {

// What a per-peer log line is about; each cause has its own budget.
enum class PeerCause : std::uint8_t {
  ProtocolError,     // a codec refused the peer's input
  Tls,               // a TLS handshake or session failed, or plain HTTP on a TLS port
  HandshakeRefused,  // the WebSocket upgrade was refused (origin, application)
  Timeout,           // a handshake or close flush ran out of time
  AcceptFailure,     // accept() failed (fd limit)
  Shed,              // closed by the memory budget
  Unread,            // the peer stopped reading while asking for control frames
  ConnectFailure,    // an outbound connection (AsyncConnection) could not connect
  Datagram,          // a udp:// datagram was dropped, or onMessage threw for one
  kCount
};

class LogLimiter {
 public:
  // Lines per cause and window before suppression starts.
  static constexpr std::uint32_t kLinesPerWindow = 10;
  // Length of one window, in loop milliseconds.
  static constexpr std::uint64_t kWindowMs = 1000;

  // `owner` names the worker in summaries ("worker echo").
  explicit LogLimiter(std::string owner = {}) : owner_(std::move(owner)) {}
  void setOwner(std::string owner) { owner_ = std::move(owner); }

  // True if a line of `cause` at `level` may be written at `now_ms`. False when the level is
  // disabled (nothing counted) or the cause's budget for this window is spent (counted as
  // suppressed). A window that ended with suppressed lines writes its summary first.
  bool admit(PeerCause cause, spdlog::level::level_enum level, std::uint64_t now_ms);

  // Writes the summary of every window that has ended (call periodically, e.g. from a sweep),
  // so the last burst's count is not held until the next failure of the same cause.
  void flush(std::uint64_t now_ms);

  // Lines suppressed since start.
  std::uint64_t suppressed() const { return suppressed_total_; }

 private:
  struct Window {
    std::uint64_t start = 0;
    std::uint32_t written = 0;
    std::uint64_t suppressed = 0;
    spdlog::level::level_enum level = spdlog::level::info;
    bool used = false;
  };
  void close(PeerCause cause, Window& w, std::uint64_t now_ms);

  std::string owner_;
  std::array<Window, static_cast<std::size_t>(PeerCause::kCount)> windows_{};
  std::uint64_t suppressed_total_ = 0;
};

// A short name of `cause` for log lines ("protocol error").
const char* causeName(PeerCause cause);

}  // namespace wman::detail
