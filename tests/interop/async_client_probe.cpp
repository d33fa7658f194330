// async_client_probe: drives one wman::AsyncConnection against a real peer for the interop
// tests (tests/interop/async_client_*_test.py). It connects to URL, sends COUNT messages of
// SIZE bytes (message i is "msg-<i>-" padded with a repeating, compressible pattern), keeping
// a few in flight, and checks that the echoes come back equal and in order. Every event is
// one JSON line on stdout; exit status 0 only when all echoes arrived and matched.
//
//   async_client_probe URL [--ca FILE] [--insecure] [--server-name NAME] [--transport tls]
//       [--deflate] [--subprotocol P]... [--count N] [--size BYTES] [--timeout S]
//       [--expect-reversed]
//
// --timeout 0 runs without the watchdog timer, so only the connection keeps the loop alive.
// --expect-reversed expects each echo reversed (openssl s_server -rev). tcp:// and unix://
// have no message boundaries: their echoes are compared as one byte stream.
// Uses only the public API: wman::Loop, wman::AsyncConnection, wman::Timer.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "wman/async_connection.h"
#include "wman/loop.h"
#include "wman/timer.h"

namespace {

struct Args {
  std::string url;
  std::string ca;
  std::string server_name;
  std::string transport = "tcp";
  std::vector<std::string> subprotocols;
  bool insecure = false;
  bool deflate = false;
  bool expect_reversed = false;
  std::size_t count = 10;
  std::size_t size = 64;
  double timeout = 20;
};

constexpr const char* kUsage =
    "usage: async_client_probe URL [--ca FILE] [--insecure] [--server-name NAME]\n"
    "       [--transport tcp|tls] [--deflate] [--subprotocol P]... [--count N]\n"
    "       [--size BYTES] [--timeout S] [--expect-reversed]\n";

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (ch < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}

void emit(const std::string& json_object) {
  std::fputs(json_object.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// Parses the flags after URL; false (with `error`) for anything unknown or malformed.
bool parseArgs(int argc, char** argv, Args& a, std::string& error) {
  if (argc < 2 || argv[1][0] == '-') {
    error = "missing URL";
    return false;
  }
  a.url = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return argv[++i];
    };
    try {
      if (flag == "--ca")
        a.ca = value();
      else if (flag == "--insecure")
        a.insecure = true;
      else if (flag == "--server-name")
        a.server_name = value();
      else if (flag == "--transport")
        a.transport = value();
      else if (flag == "--deflate")
        a.deflate = true;
      else if (flag == "--subprotocol")
        a.subprotocols.emplace_back(value());
      else if (flag == "--count")
        a.count = std::stoul(value());
      else if (flag == "--size")
        a.size = std::stoul(value());
      else if (flag == "--timeout")
        a.timeout = std::stod(value());
      else if (flag == "--expect-reversed")
        a.expect_reversed = true;
      else
        throw std::invalid_argument("unknown flag " + flag);
    } catch (const std::exception& e) {
      error = e.what();
      return false;
    }
  }
  if (a.timeout < 0) {
    error = "--timeout must be >= 0";
    return false;
  }
  return true;
}

// Message i: "msg-<i>-" then a repeating pattern up to `size` bytes (cut to `size` when the
// prefix alone is longer). No newline, so text:// carries it as one line.
std::string payload(std::size_t i, std::size_t size) {
  static constexpr std::string_view kPattern = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s = "msg-" + std::to_string(i) + "-";
  while (s.size() < size) s += kPattern[(s.size() - 1) % kPattern.size()];
  s.resize(size);
  return s;
}

wman::AsyncConnectionOptions connectionOptions(const Args& a) {
  wman::AsyncConnectionOptions o;
  if (a.timeout > 0) o.connect_timeout = a.timeout;
  o.transport = a.transport;
  o.tls.verify = !a.insecure;
  o.tls.ca = a.ca;
  o.tls.server_name = a.server_name;
  o.permessage_deflate = a.deflate;
  o.subprotocols = a.subprotocols;
  return o;
}

class Probe {
 public:
  Probe(wman::Loop& loop, const Args& args)
      : loop_(loop), args_(args), conn_(args.url, connectionOptions(args)) {
    const bool raw = args.url.starts_with("tcp://") || args.url.starts_with("unix://");
    stream_ = raw;
    // Enough in flight to keep the pipe busy, few enough to stay far below maxSendBuffer.
    window_ = std::max<std::size_t>(1, std::min<std::size_t>(32, (256 * 1024) / (args.size + 1)));
    conn_.onConnect = [this](wman::Connection&) { connected(); };
    conn_.onMessage = [this](wman::Connection&, wman::Message m) { received(m.view()); };
    conn_.onClose = [this](wman::Connection&) { closed(); };
    conn_.onError = [this](wman::Connection&, int code, std::string_view why) {
      failed(code, why);
    };
  }

  void start() {
    if (args_.timeout > 0) {
      watchdog_ = wman::Timer::delay(args_.timeout, [this] {
        watchdog_ = 0;
        emit(R"({"event":"timeout","echoed":)" + std::to_string(echoed_) + "}");
        finish(false);
      });
    }
    conn_.connect();
  }

  bool finished() const { return finished_; }
  int exitCode() const { return ok_ ? 0 : 1; }

 private:
  void connected() {
    emit(R"({"event":"connect","subprotocol":)" + jsonString(conn_.subprotocol()) + "}");
    pump();
    if (args_.count == 0) done();
  }

  // Sends until `window_` messages are in flight or all are sent.
  void pump() {
    while (!finished_ && sent_ < args_.count && pending_.size() < window_) {
      std::string msg = payload(sent_, args_.size);
      if (conn_.send(msg) == wman::SendStatus::Dropped) {
        emit(R"({"event":"error","code":0,"message":"send dropped"})");
        finish(false);
        return;
      }
      ++sent_;
      if (args_.expect_reversed) msg.assign(msg.rbegin(), msg.rend());
      pending_.push_back(std::move(msg));
    }
  }

  void received(std::string_view data) {
    if (finished_) return;
    if (stream_) {
      stream_buf_.append(data);
      while (!pending_.empty() && stream_buf_.size() >= pending_.front().size()) {
        const std::size_t n = pending_.front().size();
        if (!matches(std::string_view(stream_buf_).substr(0, n))) return;
        stream_buf_.erase(0, n);
      }
      if (pending_.empty() && !stream_buf_.empty()) matches(stream_buf_);
    } else if (!matches(data)) {
      return;
    }
    pump();
    if (echoed_ == args_.count) done();
  }

  // Checks `echo` against the oldest message in flight; reports a mismatch and fails.
  bool matches(std::string_view echo) {
    if (!pending_.empty() && echo == pending_.front()) {
      pending_.pop_front();
      ++echoed_;
      return true;
    }
    std::size_t first = 0;
    const std::string want = pending_.empty() ? std::string() : pending_.front();
    while (first < want.size() && first < echo.size() && want[first] == echo[first]) ++first;
    emit(R"({"event":"mismatch","index":)" + std::to_string(echoed_) + R"(,"expected_size":)" +
         std::to_string(want.size()) + R"(,"got_size":)" + std::to_string(echo.size()) +
         R"(,"first_difference":)" + std::to_string(first) + "}");
    finish(false);
    return false;
  }

  void done() {
    emit(R"({"event":"done","echoed":)" + std::to_string(echoed_) + R"(,"bytes_written":)" +
         std::to_string(conn_.bytesWritten()) + R"(,"bytes_read":)" +
         std::to_string(conn_.bytesRead()) + "}");
    finish(true);
  }

  void failed(int code, std::string_view why) {
    emit(R"({"event":"error","code":)" + std::to_string(code) + R"(,"message":)" + jsonString(why) +
         "}");
    finish(false);
  }

  void closed() {
    emit(R"({"event":"close"})");
    if (!finished_) {
      emit(R"({"event":"error","code":0,"message":"closed after )" + std::to_string(echoed_) +
           R"( echoes"})");
      finish(false);
    }
    stopLoop();
  }

  // Records the result once and closes the connection; the loop stops when onClose ran (an
  // open link) or at once (nothing open), with a grace timer in case the close hangs.
  void finish(bool ok) {
    if (finished_) return;
    finished_ = true;
    ok_ = ok;
    if (watchdog_) wman::Timer::del(watchdog_);
    watchdog_ = 0;
    if (conn_.state() == wman::ConnectionState::Established) {
      conn_.close();
      wman::Timer::delay(5.0, [this] { stopLoop(); });
      return;
    }
    conn_.close();  // cancels an attempt or a reconnect in progress
    stopLoop();
  }

  // Shuts the loop down from a fresh timer pass, outside the connection's own callbacks.
  void stopLoop() {
    if (stopping_) return;
    stopping_ = true;
    wman::Timer::delay(0, [this] { loop_.shutdown(); });
  }

  wman::Loop& loop_;
  Args args_;
  wman::AsyncConnection conn_;
  std::deque<std::string> pending_;  // sent, not echoed yet (reversed with -rev peers)
  std::string stream_buf_;           // tcp:// / unix:// bytes not matched yet
  std::size_t window_ = 1;
  std::size_t sent_ = 0;
  std::size_t echoed_ = 0;
  wman::TimerId watchdog_ = 0;
  bool stream_ = false;
  bool finished_ = false;
  bool ok_ = false;
  bool stopping_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  std::string error;
  if (!parseArgs(argc, argv, args, error)) {
    std::fprintf(stderr, "async_client_probe: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  wman::Loop loop;
  std::unique_ptr<Probe> probe;
  try {
    probe = std::make_unique<Probe>(loop, args);
  } catch (const std::exception& e) {
    emit(R"({"event":"error","code":0,"message":)" + jsonString(e.what()) + "}");
    return 1;
  }
  probe->start();
  loop.run();
  if (!probe->finished()) {
    emit(R"({"event":"error","code":0,"message":"the loop stopped before the probe finished"})");
    return 1;
  }
  const int rc = probe->exitCode();
  probe.reset();
  return rc;
}
