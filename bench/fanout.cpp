// wman_fanout: group fan-out benchmark client for wman's bus (bench/run_fanout).
//
// One thread on epoll opens --conns WebSocket subscribers, spread round-robin over the --port
// list (one port per wman node), plus one sender connection on the first port. The server runs
// the built-in `chat` app, which puts every connection in group "lobby" and relays each text
// message to the whole group as "<nick>: <text>". Once the connections are open and the
// server's join notices have died down, the sender sends --messages messages at --rate per
// second. Each carries its sequence number and the CLOCK_MONOTONIC time of its send; every
// subscriber that receives one records receive time minus send time (same machine, same
// clock). The sender's own copy is not counted.
//
// Output: one JSON line: latency percentiles over every receipt, deliveries, lost (expected
// minus received) and, with --cpu-pids, the server's CPU time (utime+stime from /proc/PID/stat)
// over the window from the first send to the last receipt, per delivery.

#include <netdb.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>

#include <algorithm>
#include <random>

#include "ws_bench_common.h"

namespace {

using wsbench::nowNanos;
using wsbench::nowSeconds;

constexpr std::string_view kUsage = R"(usage: wman_fanout --port P[,P2...] [options]
       wman_fanout --free-port

  --host H            server address (default 127.0.0.1)
  --port P[,P2...]    one port per node; subscribers are spread round-robin over them and
                      the sender connects to the first
  --conns N           subscribers (default 10000)
  --messages M        messages sent (default 200)
  --rate R            messages per second (default 20)
  --quiet S           before sending, wait until nothing arrived for S seconds (default 0.5)
  --tail S            after the last send, wait at most S seconds for receipts (default 3)
  --connect-timeout S give up on unfinished connects after S seconds (default 120)
  --cpu-pids P1,P2    server processes: utime+stime over the measured window
  --other-pids P1,P2  other processes measured the same way but reported apart (e.g. Redis)
  --label TEXT        copied into the JSON result
)";

constexpr size_t kReadBuf = 64 * 1024;
constexpr uint64_t kMaxPayload = 1 << 20;
constexpr int kConnectConcurrency = 256;
constexpr std::string_view kTag = "fanout#";

struct Options {
  std::string host = "127.0.0.1";
  std::vector<int> ports;
  int conns = 10000;
  int messages = 200;
  double rate = 20;
  double quiet = 0.5;
  double tail = 3;
  double connect_timeout = 120;
  std::vector<int> cpu_pids, other_pids;
  std::string label;
};

enum class State { kConnecting, kHandshake, kOpen, kDead };

struct Conn {
  int fd = -1;
  State state = State::kConnecting;
  bool sender = false;
  bool want_out = false;
  size_t port = 0;  // index into --port
  std::string in, out, key;
};

class Fanout {
 public:
  explicit Fanout(Options o) : opt_(std::move(o)), rng_(std::random_device{}()) {}
  int run();

 private:
  bool openOne(size_t idx, int port);
  void launch();
  void onEvent(size_t idx, uint32_t ev);
  void onReadable(Conn& c);
  void consume(Conn& c, std::int64_t t_ns);
  void onText(const Conn& c, std::string_view text, std::int64_t t_ns);
  bool flush(Conn& c);
  void setWantOut(Conn& c, bool want);
  void fail(Conn& c, const char* why);
  void poll(int timeout_ms);
  bool connectAll();
  void waitQuiet();
  void sendOne(int seq);
  void measure();
  void report(double window_s, double client_cpu, long long ticks, long long other_ticks);

  Options opt_;
  std::mt19937_64 rng_;
  int ep_ = -1;
  std::vector<Conn> conns_;  // subscribers, then the sender
  std::vector<sockaddr_in> addrs_;
  size_t launched_ = 0;
  int pending_ = 0, open_ = 0, failed_ = 0;
  long long errors_ = 0;
  double last_rx_ = 0;
  std::vector<uint8_t> rbuf_ = std::vector<uint8_t>(kReadBuf);
  std::vector<std::int64_t> sent_ns_;  // per message, 0 until sent
  std::vector<int> per_msg_;           // receipts per message
  std::vector<std::int64_t> last_ns_;  // per message, the latest receipt's latency
  std::vector<std::uint32_t> lat_us_;  // every receipt's latency
  long long received_ = 0;
  long long receipt_reads_ = 0;       // reads that brought at least one counted message
  std::vector<long long> pid_ticks_;  // per --cpu-pids entry, over the window
  double connect_s_ = 0, settle_s_ = 0;
};

bool Fanout::openOne(size_t idx, int port) {
  Conn& c = conns_[idx];
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return false;
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.port = static_cast<size_t>(port);
  sockaddr_in a = addrs_[c.port];
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    close(c.fd);
    c.fd = -1;
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = idx;
  epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  c.want_out = true;
  return true;
}

// Subscriber i goes to port i % ports; the sender (the last slot) to the first port.
void Fanout::launch() {
  while (launched_ < conns_.size() && pending_ < kConnectConcurrency) {
    const size_t i = launched_++;
    const size_t port = conns_[i].sender ? 0 : i % addrs_.size();
    if (openOne(i, static_cast<int>(port))) {
      ++pending_;
    } else {
      conns_[i].state = State::kDead;
      ++failed_;
    }
  }
}

void Fanout::fail(Conn& c, const char* why) {
  if (c.state == State::kDead) return;
  if (errors_++ < 3) std::fprintf(stderr, "wman_fanout: connection lost: %s\n", why);
  if (c.state == State::kOpen) {
    --open_;
  } else {
    --pending_;
    ++failed_;
  }
  c.state = State::kDead;
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
}

void Fanout::setWantOut(Conn& c, bool want) {
  if (c.want_out == want || c.fd < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_out = want;
}

bool Fanout::flush(Conn& c) {
  while (!c.out.empty()) {
    ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      setWantOut(c, true);
      return true;
    } else {
      fail(c, "send failed");
      return false;
    }
  }
  setWantOut(c, false);
  return true;
}

void Fanout::onEvent(size_t idx, uint32_t ev) {
  Conn& c = conns_[idx];
  if (c.state == State::kDead) return;
  if (c.state == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || !(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      if (err != 0) fail(c, "connect failed");
      return;
    }
    uint8_t raw[16];
    for (auto& b : raw) b = static_cast<uint8_t>(rng_());
    c.key = wsbench::base64(raw, sizeof raw);
    c.state = State::kHandshake;
    c.out = wsbench::upgradeRequestPrefix(opt_.host, opt_.ports[c.port], "/") +
            "Sec-WebSocket-Key: " + c.key + "\r\n\r\n";
    flush(c);
    return;
  }
  if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) onReadable(c);
  if (c.state != State::kDead && (ev & EPOLLOUT)) flush(c);
}

void Fanout::onReadable(Conn& c) {
  for (;;) {
    ssize_t n = recv(c.fd, rbuf_.data(), rbuf_.size(), 0);
    if (n == 0) return fail(c, "closed by the server");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) fail(c, "recv failed");
      return;
    }
    const std::int64_t t_ns = nowNanos();  // one receive time for everything this read brought
    last_rx_ = static_cast<double>(t_ns) * 1e-9;
    c.in.append(reinterpret_cast<const char*>(rbuf_.data()), static_cast<size_t>(n));
    const long long before = received_;
    consume(c, t_ns);
    if (received_ > before) ++receipt_reads_;
    if (c.state == State::kDead || static_cast<size_t>(n) < rbuf_.size()) return;
  }
}

void Fanout::consume(Conn& c, std::int64_t t_ns) {
  size_t pos = 0;
  if (c.state == State::kHandshake) {
    const size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (!wsbench::upgradeAccepted(std::string_view(c.in).substr(0, end + 2), c.key))
      return fail(c, "upgrade refused");
    c.state = State::kOpen;
    --pending_;
    ++open_;
    pos = end + 4;
  }
  const auto* data = reinterpret_cast<const uint8_t*>(c.in.data());
  while (c.in.size() > pos) {
    wsbench::FrameHeader h;
    const int r = wsbench::parseFrameHeader(data + pos, c.in.size() - pos, kMaxPayload, &h);
    if (r < 0 || (r > 0 && (!h.fin || h.opcode == 0x0))) return fail(c, "bad or fragmented frame");
    if (r == 0 || c.in.size() - pos < h.size + h.payload) break;
    std::string_view payload(c.in.data() + pos + h.size, static_cast<size_t>(h.payload));
    pos += h.size + static_cast<size_t>(h.payload);
    if (h.opcode == 0x1) {
      onText(c, payload, t_ns);
    } else if (h.opcode == 0x9) {
      c.out += wsbench::maskedFrame(0xA, payload, static_cast<uint32_t>(rng_()));
    } else if (h.opcode == 0x8) {
      return fail(c, "close frame from the server");
    }
  }
  c.in.erase(0, pos);
  if (!c.out.empty()) flush(c);
}

// A relayed message reads "<nick>: fanout#<seq> <send time ns>"; anything else (join notices)
// is ignored.
void Fanout::onText(const Conn& c, std::string_view text, std::int64_t t_ns) {
  if (c.sender) return;
  const size_t at = text.find(kTag);
  if (at == std::string_view::npos) return;
  text.remove_prefix(at + kTag.size());
  const size_t sp = text.find(' ');
  int seq = -1;
  std::int64_t sent = 0;
  if (sp == std::string_view::npos || !wsbench::parseNumber(text.substr(0, sp), &seq) ||
      !wsbench::parseNumber(text.substr(sp + 1), &sent) || seq < 0 || seq >= opt_.messages)
    return;
  const std::int64_t lat = t_ns - sent;
  lat_us_.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(lat, 0) / 1000));
  per_msg_[static_cast<size_t>(seq)]++;
  last_ns_[static_cast<size_t>(seq)] = std::max(last_ns_[static_cast<size_t>(seq)], lat);
  ++received_;
}

void Fanout::poll(int timeout_ms) {
  epoll_event events[1024];
  int n = epoll_wait(ep_, events, 1024, timeout_ms);
  for (int i = 0; i < n; ++i) onEvent(static_cast<size_t>(events[i].data.u64), events[i].events);
}

bool Fanout::connectAll() {
  const double t0 = nowSeconds();
  launch();
  while (pending_ > 0 || launched_ < conns_.size()) {
    if (nowSeconds() - t0 > opt_.connect_timeout) {
      for (auto& c : conns_)
        if (c.state == State::kConnecting || c.state == State::kHandshake) fail(c, "timeout");
      break;
    }
    poll(100);
    launch();
  }
  connect_s_ = nowSeconds() - t0;
  return conns_.back().state == State::kOpen && open_ > 1;
}

// The chat app announces every new connection to the whole group: drain that first.
void Fanout::waitQuiet() {
  const double t0 = nowSeconds();
  last_rx_ = t0;
  while (nowSeconds() - last_rx_ < opt_.quiet && nowSeconds() - t0 < opt_.connect_timeout) poll(50);
  settle_s_ = nowSeconds() - t0;
}

void Fanout::sendOne(int seq) {
  Conn& s = conns_.back();
  if (s.state != State::kOpen) return;
  const std::int64_t t = nowNanos();
  sent_ns_[static_cast<size_t>(seq)] = t;
  const std::string text = std::string(kTag) + std::to_string(seq) + " " + std::to_string(t);
  s.out += wsbench::maskedFrame(0x1, text, static_cast<uint32_t>(rng_()));
  flush(s);
}

void Fanout::measure() {
  const long long expected_each = static_cast<long long>(conns_.size()) - 1;
  const double cpu0 = wsbench::processCpuSeconds();
  const long long ticks0 = opt_.cpu_pids.empty() ? -1 : wsbench::sumCpuTicks(opt_.cpu_pids);
  for (int pid : opt_.cpu_pids) pid_ticks_.push_back(wsbench::procCpuTicks(pid));
  const long long other0 = opt_.other_pids.empty() ? -1 : wsbench::sumCpuTicks(opt_.other_pids);
  const double t0 = nowSeconds();
  int next = 0;
  double deadline = 0;
  for (;;) {
    const double now = nowSeconds();
    while (next < opt_.messages && now >= t0 + next / opt_.rate) sendOne(next++);
    if (next == opt_.messages && deadline == 0) deadline = now + opt_.tail;
    if (deadline > 0 && (now >= deadline || received_ >= expected_each * opt_.messages)) break;
    const double wake = next < opt_.messages ? t0 + next / opt_.rate : deadline;
    poll(std::clamp(static_cast<int>((wake - now) * 1000), 0, 50));
  }
  const double window = nowSeconds() - t0;
  const long long ticks = ticks0 < 0 ? -1 : wsbench::sumCpuTicks(opt_.cpu_pids) - ticks0;
  for (size_t i = 0; i < pid_ticks_.size(); ++i)
    pid_ticks_[i] = wsbench::procCpuTicks(opt_.cpu_pids[i]) - pid_ticks_[i];
  const long long other = other0 < 0 ? -1 : wsbench::sumCpuTicks(opt_.other_pids) - other0;
  report(window, wsbench::processCpuSeconds() - cpu0, ticks, other);
}

double percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

void Fanout::report(double window_s, double client_cpu, long long ticks, long long other_ticks) {
  const long long expected = (static_cast<long long>(conns_.size()) - 1) * opt_.messages;
  std::vector<std::uint32_t> slowest;  // per message: until its last receiver had it
  for (int m = 0; m < opt_.messages; ++m)
    if (per_msg_[static_cast<size_t>(m)] > 0)
      slowest.push_back(static_cast<std::uint32_t>(last_ns_[static_cast<size_t>(m)] / 1000));
  const double max_ms =
      lat_us_.empty() ? 0 : *std::max_element(lat_us_.begin(), lat_us_.end()) / 1000.0;
  const double p50 = percentile(lat_us_, 0.50), p99 = percentile(lat_us_, 0.99);
  std::printf(
      "{\"mode\":\"fanout\",\"label\":\"%s\",\"subscribers\":%zu,\"nodes\":%zu,\"messages\":%d,"
      "\"rate\":%.1f,\"open\":%d,\"failed\":%d,\"errors\":%lld,\"connect_s\":%.2f,"
      "\"settle_s\":%.2f,\"window_s\":%.3f,\"expected\":%lld,\"received\":%lld,\"lost\":%lld,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"last_p50_ms\":%.3f,"
      "\"last_p99_ms\":%.3f,\"receipts_per_read\":%.2f,\"client_cpu_util\":%.3f",
      opt_.label.c_str(), conns_.size() - 1, opt_.ports.size(), opt_.messages, opt_.rate, open_,
      failed_, errors_, connect_s_, settle_s_, window_s, expected, received_, expected - received_,
      p50, p99, max_ms, percentile(slowest, 0.50), percentile(slowest, 0.99),
      receipt_reads_ > 0 ? static_cast<double>(received_) / static_cast<double>(receipt_reads_)
                         : 0.0,
      window_s > 0 ? client_cpu / window_s : 0.0);
  if (ticks >= 0) {
    const double us = wsbench::ticksToMicros(ticks);
    std::printf(",\"server_cpu_us\":%.0f,\"server_us_per_delivery\":%.3f,\"server_cpu_util\":%.3f",
                us, received_ > 0 ? us / static_cast<double>(received_) : 0.0,
                window_s > 0 ? us / 1e6 / window_s : 0.0);
  }
  std::printf(",\"cpu_us_by_pid\":{");
  for (size_t i = 0; i < pid_ticks_.size(); ++i)
    std::printf("%s\"%d\":%.0f", i ? "," : "", opt_.cpu_pids[i],
                wsbench::ticksToMicros(pid_ticks_[i]));
  std::printf("}");
  if (other_ticks >= 0 && !opt_.other_pids.empty())
    std::printf(",\"other_cpu_us\":%.0f", wsbench::ticksToMicros(other_ticks));
  std::printf("}\n");
  std::fflush(stdout);
}

int Fanout::run() {
  for (int port : opt_.ports) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, opt_.host.c_str(), &a.sin_addr) != 1) {
      std::fprintf(stderr, "wman_fanout: --host must be an IPv4 address\n");
      return 2;
    }
    addrs_.push_back(a);
  }
  wsbench::raiseFdLimit(static_cast<rlim_t>(opt_.conns) + 64, "wman_fanout");
  signal(SIGPIPE, SIG_IGN);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  conns_.resize(static_cast<size_t>(opt_.conns) + 1);
  conns_.back().sender = true;
  sent_ns_.assign(static_cast<size_t>(opt_.messages), 0);
  per_msg_.assign(static_cast<size_t>(opt_.messages), 0);
  last_ns_.assign(static_cast<size_t>(opt_.messages), 0);
  lat_us_.reserve(static_cast<size_t>(opt_.conns) * static_cast<size_t>(opt_.messages));
  if (!connectAll()) {
    std::fprintf(stderr, "wman_fanout: %d connections open, %d failed; the sender %s\n", open_,
                 failed_, conns_.back().state == State::kOpen ? "is open" : "is not open");
    return 1;
  }
  waitQuiet();
  measure();
  return 0;
}

int usageError(const char* msg, std::string_view arg) {
  std::fprintf(stderr, "wman_fanout: %s: %.*s (see --help)\n", msg, static_cast<int>(arg.size()),
               arg.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string_view { return i + 1 < argc ? argv[++i] : ""; };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    } else if (a == "--free-port") {
      return wsbench::printFreePort("wman_fanout");
    } else if (a == "--host") {
      o.host = value();
    } else if (a == "--port") {
      ok = wsbench::parseIntList(value(), &o.ports);
    } else if (a == "--conns") {
      ok = wsbench::parseNumber(value(), &o.conns) && o.conns > 0;
    } else if (a == "--messages") {
      ok = wsbench::parseNumber(value(), &o.messages) && o.messages > 0;
    } else if (a == "--rate") {
      ok = wsbench::parseNumber(value(), &o.rate) && o.rate > 0;
    } else if (a == "--quiet") {
      ok = wsbench::parseNumber(value(), &o.quiet) && o.quiet >= 0;
    } else if (a == "--tail") {
      ok = wsbench::parseNumber(value(), &o.tail) && o.tail >= 0;
    } else if (a == "--connect-timeout") {
      ok = wsbench::parseNumber(value(), &o.connect_timeout) && o.connect_timeout > 0;
    } else if (a == "--cpu-pids") {
      ok = wsbench::parseIntList(value(), &o.cpu_pids);
    } else if (a == "--other-pids") {
      ok = wsbench::parseIntList(value(), &o.other_pids);
    } else if (a == "--label") {
      o.label = value();
      ok = o.label.find_first_of("\"\\") == std::string::npos;
    } else {
      return usageError("unknown option", a);
    }
    if (!ok) return usageError("bad or missing value for", a);
  }
  if (o.ports.empty()) return usageError("missing", "--port");
  return Fanout(std::move(o)).run();
}
