// bench_ws_client: a WebSocket echo client built on wman::AsyncConnection, to measure what
// wman costs as a client (bench/run_clients runs it next to the Node `ws` client and Python's
// websockets against one wman echo server; see bench/README.md).
//
// usage: bench_ws_client URL [--conns C] [--window W] [--size S] [--text|--binary]
//                            [--duration D] [--warmup SECONDS]
//
// Opens C connections to URL (ws:// or wss://) and keeps W messages of S bytes in flight on
// each: W are sent when a connection opens, and one more for each echo. Every echo is checked:
// its kind and length always, the sequence number in its first 8 bytes always, and every 64th
// echo byte for byte. Once all connections are open it waits the warm-up, then counts echoes
// and its own CPU time (getrusage RUSAGE_SELF, user + system) over D seconds, and prints one
// JSON line. Any wrong echo, failed connect or unexpected close makes the run fail (exit 1).
//
// Only the public API is used (wman/loop.h, wman/async_connection.h, wman/timer.h), so the
// figures are what an application using AsyncConnection pays.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wman/async_connection.h"
#include "wman/loop.h"
#include "wman/timer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string url;
  int conns = 1;
  int window = 1;
  std::size_t size = 32;
  bool text = true;
  double duration = 5;
  double warmup = 1;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "bench_ws_client: %s\n"
               "usage: bench_ws_client URL [--conns C] [--window W] [--size S] [--text|--binary]\n"
               "                           [--duration D] [--warmup SECONDS]\n",
               why);
  std::exit(2);
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (arg == "--conns") {
      a.conns = std::atoi(value());
    } else if (arg == "--window") {
      a.window = std::atoi(value());
    } else if (arg == "--size") {
      a.size = static_cast<std::size_t>(std::atoll(value()));
    } else if (arg == "--duration") {
      a.duration = std::atof(value());
    } else if (arg == "--warmup") {
      a.warmup = std::atof(value());
    } else if (arg == "--text") {
      a.text = true;
    } else if (arg == "--binary") {
      a.text = false;
    } else if (arg == "-h" || arg == "--help") {
      usage("help");
    } else if (!arg.starts_with("--") && a.url.empty()) {
      a.url = arg;
    } else {
      usage("unknown argument");
    }
  }
  if (a.url.empty()) usage("missing URL");
  if (a.conns < 1 || a.window < 1 || a.size < 1 || a.duration <= 0 || a.warmup < 0) {
    usage("conns, window and size must be >= 1, duration > 0, warmup >= 0");
  }
  return a;
}

double cpuSeconds(int who, double* user = nullptr, double* sys = nullptr) {
  rusage r{};
  ::getrusage(who, &r);
  const double u = static_cast<double>(r.ru_utime.tv_sec) + r.ru_utime.tv_usec / 1e6;
  const double s = static_cast<double>(r.ru_stime.tv_sec) + r.ru_stime.tv_usec / 1e6;
  if (user) *user = u;
  if (sys) *sys = s;
  return u + s;
}

// The first 8 bytes of message number `seq` (its low 32 bits in hex), or fewer for a
// message shorter than that.
constexpr std::size_t kSeqBytes = 8;
void writeSeq(char* out, std::size_t n, std::uint64_t seq) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) out[i] = kHex[(seq >> (28 - 4 * i)) & 0xf];
}

class Bench {
 public:
  explicit Bench(Args args) : args_(std::move(args)) {
    // Printable filler, so the same bytes are valid as text and as binary.
    body_.resize(args_.size);
    for (std::size_t i = 0; i < body_.size(); ++i) body_[i] = static_cast<char>('a' + i * 7 % 26);
    prefix_ = std::min(args_.size, kSeqBytes);
  }

  int run() {
    wman::Loop loop;
    loop_ = &loop;
    links_.resize(static_cast<std::size_t>(args_.conns));
    for (Link& l : links_) {
      l.payload = body_;
      l.conn = std::make_unique<wman::AsyncConnection>(args_.url);
      wire(l);
      l.conn->connect();
    }
    loop.run();
    links_.clear();
    return report();
  }

 private:
  struct Link {
    std::unique_ptr<wman::AsyncConnection> conn;
    std::string payload;  // body_ with the sequence number of the next send in front
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
  };

  void wire(Link& l) {
    l.conn->onConnect = [this, &l](wman::Connection&) {
      for (int i = 0; i < args_.window; ++i) sendNext(l);
      if (++open_ == args_.conns) allOpen();
    };
    l.conn->onMessage = [this, &l](wman::Connection&, wman::Message m) {
      check(l, m);
      ++l.received;
      ++total_;
      if (!stopping_) sendNext(l);
    };
    l.conn->onError = [this](wman::Connection&, int code, std::string_view why) {
      fail("error " + std::to_string(code) + ": " + std::string(why));
    };
    l.conn->onClose = [this](wman::Connection&) {
      if (!stopping_) fail("connection closed by the server");
    };
  }

  void sendNext(Link& l) {
    writeSeq(l.payload.data(), prefix_, l.sent++);
    const auto kind = args_.text ? wman::MessageKind::Text : wman::MessageKind::Binary;
    if (l.conn->send(l.payload, kind) == wman::SendStatus::Dropped) fail("send dropped");
  }

  void check(const Link& l, const wman::Message& m) {
    const std::string_view got = m.view();
    const bool kind_ok = m.isText() == args_.text;
    if (!kind_ok || got.size() != args_.size) {
      fail("echo " + std::to_string(l.received) + ": " + (kind_ok ? "" : "wrong kind, ") +
           std::to_string(got.size()) + " bytes instead of " + std::to_string(args_.size));
      return;
    }
    char seq[kSeqBytes];
    writeSeq(seq, prefix_, l.received);
    bool ok = std::memcmp(got.data(), seq, prefix_) == 0;
    if (ok && l.received % 64 == 0) {
      ok = std::memcmp(got.data() + prefix_, body_.data() + prefix_, args_.size - prefix_) == 0;
    }
    if (!ok) fail("echo " + std::to_string(l.received) + ": wrong bytes");
  }

  void allOpen() {
    wman::Timer::delay(args_.warmup, [this] {
      start_msgs_ = total_;
      start_cpu_ = cpuSeconds(RUSAGE_SELF, &start_user_, &start_sys_);
      start_time_ = Clock::now();
      wman::Timer::delay(args_.duration, [this] { finish(); });
    });
  }

  void finish() {
    end_msgs_ = total_;
    end_cpu_ = cpuSeconds(RUSAGE_SELF, &end_user_, &end_sys_);
    end_time_ = Clock::now();
    measured_ = true;
    stop();
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    for (Link& l : links_) l.conn->close();
    loop_->shutdown();
  }

  void fail(std::string why) {
    if (errors_++ == 0) std::fprintf(stderr, "bench_ws_client: %s\n", why.c_str());
    stop();
  }

  int report() const {
    const double seconds = std::chrono::duration<double>(end_time_ - start_time_).count();
    const std::uint64_t msgs = end_msgs_ - start_msgs_;
    const double cpu = end_cpu_ - start_cpu_;
    const bool ok = measured_ && errors_ == 0 && msgs > 0;
    std::printf(
        "{\"client\":\"wman\",\"url\":\"%s\",\"conns\":%d,\"window\":%d,\"size\":%zu,"
        "\"kind\":\"%s\",\"warmup_s\":%.3f,\"seconds\":%.3f,\"msgs\":%llu,\"msgs_per_s\":%.1f,"
        "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"cpu_s\":%.3f,\"cpu_us_per_msg\":%.3f,"
        "\"cpu_util\":%.3f,\"errors\":%d}\n",
        args_.url.c_str(), args_.conns, args_.window, args_.size, args_.text ? "text" : "binary",
        args_.warmup, seconds, static_cast<unsigned long long>(msgs),
        seconds > 0 ? msgs / seconds : 0.0, end_user_ - start_user_, end_sys_ - start_sys_, cpu,
        msgs > 0 ? cpu * 1e6 / msgs : 0.0, seconds > 0 ? cpu / seconds : 0.0,
        errors_ + (ok || errors_ ? 0 : 1));
    return ok ? 0 : 1;
  }

  Args args_;
  std::string body_;
  std::size_t prefix_ = 0;
  wman::Loop* loop_ = nullptr;
  std::vector<Link> links_;
  int open_ = 0;
  bool stopping_ = false;
  bool measured_ = false;
  int errors_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t start_msgs_ = 0, end_msgs_ = 0;
  double start_cpu_ = 0, end_cpu_ = 0;
  double start_user_ = 0, start_sys_ = 0, end_user_ = 0, end_sys_ = 0;
  Clock::time_point start_time_{}, end_time_{};
};

}  // namespace

int main(int argc, char** argv) {
  return Bench(parseArgs(argc, argv)).run();
}
