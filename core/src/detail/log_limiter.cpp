#include "detail/log_limiter.h"

#include "detail/log.h"

namespace wman::detail {

const char* causeName(PeerCause cause) {
  switch (cause) {
    case PeerCause::ProtocolError:
      return "protocol error";
    case PeerCause::Tls:
      return "TLS failure";
    case PeerCause::HandshakeRefused:
      return "refused handshake";
    case PeerCause::Timeout:
      return "timeout";
    case PeerCause::AcceptFailure:
      return "accept failure";
    case PeerCause::Shed:
      return "memory budget";
    case PeerCause::Unread:
      return "send buffer full";
    case PeerCause::ConnectFailure:
      return "outbound connect failure";
    case PeerCause::Datagram:
      return "dropped datagram";
    case PeerCause::kCount:
      break;
  }
  return "peer failure";
}

bool LogLimiter::admit(PeerCause cause, spdlog::level::level_enum level, std::uint64_t now_ms) {
  if (!log().should_log(level)) return false;
  Window& w = windows_[static_cast<std::size_t>(cause)];
  if (!w.used || now_ms - w.start >= kWindowMs) {
    close(cause, w, now_ms);
    w.used = true;
    w.start = now_ms;
  }
  w.level = level;
  if (w.written < kLinesPerWindow) {
    ++w.written;
    return true;
  }
  ++w.suppressed;
  ++suppressed_total_;
  return false;
}

void LogLimiter::close(PeerCause cause, Window& w, std::uint64_t now_ms) {
  if (w.suppressed > 0) {
    // The summary covers the window from its start to now (a quiet window can be longer
    // than kWindowMs when flushed late).
    const double seconds = static_cast<double>(now_ms - w.start) / 1000.0;
    log().log(w.level, "{}{}suppressed {} similar lines ({}) in the last {:.1f} s", owner_,
              owner_.empty() ? "" : ": ", w.suppressed, causeName(cause), seconds);
  }
  w = Window{};
}

void LogLimiter::flush(std::uint64_t now_ms) {
  for (std::size_t i = 0; i < windows_.size(); ++i) {
    Window& w = windows_[i];
    if (w.used && now_ms - w.start >= kWindowMs) close(static_cast<PeerCause>(i), w, now_ms);
  }
}

}  // namespace wman::detail
