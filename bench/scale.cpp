// wman_scale: holds many WebSocket connections alive for bench/run_scale.
//
// One thread on epoll opens --conns connections to one server address, each bound to one of
// the --sources addresses in turn. IP_BIND_ADDRESS_NO_PORT leaves the port to connect(), so
// every source address gives a whole ephemeral port range towards the one server port, and
// many generator processes can share the same sources.
//
// After the upgrade a connection sends nothing of its own: it answers every server Ping with
// a Pong (a server with ping_interval closes a peer that stays silent) and counts the text
// messages that start with --tag. bench/run_scale sends one such message to every connection
// with `wman send --all "<tag><CLOCK_REALTIME ns>"`; a receipt's latency is the time of the
// read that brought it minus that send time (same machine, same clock).
//
// Output on stdout, one line each: "ready <open> <failed> <seconds>" once every connect has
// finished or failed, then a JSON status on SIGUSR1 and a last one on SIGINT/SIGTERM. Links no
// wman code, like wman_loadgen.

#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <array>
#include <random>

#include "ws_bench_common.h"

namespace {

constexpr std::string_view kUsage = R"(usage: wman_scale --port P --sources A[-B][,C...] [options]
       wman_scale --free-port

  --host H                server IPv4 address (default 127.0.0.1)
  --port P                server port (required)
  --sources LIST          source addresses, e.g. 127.0.0.2-127.0.0.30 or 127.0.0.2,127.0.0.3;
                          connection i binds the ((i + first) mod n)-th
  --first-source K        offset into --sources (default 0)
  --conns N               connections (default 10000)
  --connect-concurrency K connects and upgrades in progress at once (default 128)
  --connect-timeout S     give up on unfinished connects after S seconds (default 600)
  --tag TEXT              prefix of the counted broadcast message (default "scale#")
  --label TEXT            copied into the JSON status
  --free-port             print a free TCP port on 127.0.0.1 and exit

Prints "ready <open> <failed> <seconds>" when every connect has finished, a JSON status line
on SIGUSR1, and a last one on SIGINT or SIGTERM, then exits.
)";

constexpr size_t kReadBuf = 64 * 1024;
constexpr uint64_t kMaxPayload = 1 << 20;
constexpr size_t kMaxHandshake = 16 * 1024;
constexpr uint64_t kSignalTag = ~0ull;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<in_addr> sources;
  int first_source = 0;
  int conns = 10000;
  int concurrency = 128;
  double connect_timeout = 600;
  std::string tag = "scale#";
  std::string label;
};

// Why a connection never opened or was lost later; the JSON status counts each kind.
enum Why { kPorts, kConnect, kTimeout, kUpgrade, kEof, kReset, kCloseFrame, kProtocol, kWhyCount };
constexpr std::array<const char*, kWhyCount> kWhyNames = {
    "no_port", "connect", "timeout", "upgrade", "eof", "reset", "close_frame", "protocol"};

enum class State : uint8_t { kIdle, kConnecting, kUpgrading, kOpen, kDead };

// Kept small: a generator holds up to ~20,000 of these. `in` and `out` stay empty (no heap)
// except around a partial frame or a full socket.
struct Conn {
  int fd = -1;
  State state = State::kIdle;
  bool want_out = false;
  float opened_s = 0;      // when the upgrade finished, seconds from the start
  float last_ping_s = -1;  // when the last Ping arrived; -1: none yet
  std::string in, out;
};

class Scale {
 public:
  explicit Scale(Options o) : opt_(std::move(o)), rng_(std::random_device{}()) {}
  int run();

 private:
  void launch();
  bool openOne(size_t idx);
  void onEvent(size_t idx, uint32_t ev);
  void onConnected(size_t idx);
  void onReadable(Conn& c);
  bool consume(Conn& c, std::int64_t t_ns);
  void onText(std::string_view text, std::int64_t t_ns);
  bool flush(Conn& c);
  void setWantOut(Conn& c, bool want);
  void fail(Conn& c, Why why);
  void expireConnects();
  void noteServerClose(const Conn& c);
  void onSignal();
  void printStatus(bool last);
  std::string keyFor(size_t idx) const;

  Options opt_;
  std::mt19937_64 rng_;
  uint64_t key_seed_ = 0;
  sockaddr_in addr_{};
  int ep_ = -1, sig_fd_ = -1;
  std::vector<Conn> conns_;
  size_t launched_ = 0;
  int pending_ = 0, open_ = 0, failed_ = 0, lost_ = 0;
  std::array<long long, kWhyCount> why_{};
  int first_close_code_ = -1;                    // of the first Close frame a server sent
  std::string first_close_why_;                  // its reason, printable ASCII only
  double lost_first_s_ = -1, lost_last_s_ = -1;  // when connections were lost, from the start
  // Of the connections a server closed: how many had never seen a Ping, and for the others the
  // shortest and longest time from the last Ping (answered at once) to the Close.
  long long closed_unpinged_ = 0;
  double close_after_ping_min_s_ = -1, close_after_ping_max_s_ = -1, closed_min_age_s_ = -1;
  long long pings_ = 0, tagged_ = 0, other_msgs_ = 0;  // every Ping is answered
  std::int64_t tag_first_ns_ = -1, tag_last_ns_ = -1;  // latencies of the first and last receipt
  double t0_ = 0, connect_s_ = -1;
  bool stop_ = false;
  std::string request_prefix_;
  std::vector<uint8_t> rbuf_ = std::vector<uint8_t>(kReadBuf);
};

// The Sec-WebSocket-Key of connection idx, derived instead of stored: 16 bytes from a
// per-process seed and the index.
std::string Scale::keyFor(size_t idx) const {
  uint8_t raw[16];
  uint64_t a = key_seed_ ^ (idx * 0x9E3779B97F4A7C15ull), b = a * 0xBF58476D1CE4E5B9ull + idx;
  std::memcpy(raw, &a, 8);
  std::memcpy(raw + 8, &b, 8);
  return wsbench::base64(raw, sizeof raw);
}

void Scale::launch() {
  while (launched_ < conns_.size() && pending_ < opt_.concurrency) {
    const size_t idx = launched_++;
    if (openOne(idx)) {
      ++pending_;
    } else {
      conns_[idx].state = State::kDead;
      ++failed_;
    }
  }
}

bool Scale::openOne(size_t idx) {
  Conn& c = conns_[idx];
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    ++why_[kConnect];
    return false;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_addr = opt_.sources[(idx + static_cast<size_t>(opt_.first_source)) % opt_.sources.size()];
  int rc = bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  if (rc == 0) rc = connect(c.fd, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_);
  if (rc != 0 && errno != EINPROGRESS) {
    ++why_[errno == EADDRNOTAVAIL || errno == EADDRINUSE ? kPorts : kConnect];
    close(c.fd);
    c.fd = -1;
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = idx;
  epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  c.want_out = true;
  c.state = State::kConnecting;
  return true;
}

void Scale::fail(Conn& c, Why why) {
  if (c.state == State::kDead) return;
  ++why_[why];
  if (c.state == State::kOpen) {
    --open_;
    ++lost_;
    lost_last_s_ = wsbench::nowSeconds() - t0_;
    if (lost_first_s_ < 0) lost_first_s_ = lost_last_s_;
  } else {
    --pending_;
    ++failed_;
  }
  c.state = State::kDead;
  close(c.fd);  // also leaves the epoll set
  c.fd = -1;
  std::string().swap(c.in);
  std::string().swap(c.out);
}

void Scale::setWantOut(Conn& c, bool want) {
  if (c.want_out == want) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_out = want;
}

bool Scale::flush(Conn& c) {
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
      fail(c, kReset);
      return false;
    }
  }
  std::string().swap(c.out);
  setWantOut(c, false);
  return true;
}

void Scale::onConnected(size_t idx) {
  Conn& c = conns_[idx];
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail(c, kConnect);
  c.state = State::kUpgrading;
  c.out = request_prefix_ + "Sec-WebSocket-Key: " + keyFor(idx) + "\r\n\r\n";
  flush(c);
}

void Scale::onEvent(size_t idx, uint32_t ev) {
  Conn& c = conns_[idx];
  if (c.state == State::kDead) return;
  if (c.state == State::kConnecting) {
    if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) onConnected(idx);
    return;
  }
  if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) onReadable(c);
  if (c.state != State::kDead && (ev & EPOLLOUT)) flush(c);
}

void Scale::onReadable(Conn& c) {
  for (;;) {
    ssize_t n = recv(c.fd, rbuf_.data(), rbuf_.size(), 0);
    if (n == 0) return fail(c, kEof);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) fail(c, kReset);
      return;
    }
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);  // one receive time for everything this read brought
    const std::int64_t t_ns = static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    c.in.append(reinterpret_cast<const char*>(rbuf_.data()), static_cast<size_t>(n));
    if (!consume(c, t_ns)) return;
    if (c.in.empty()) std::string().swap(c.in);  // an idle connection holds no heap
    if (static_cast<size_t>(n) < rbuf_.size()) return;
  }
}

// Parses what c.in holds: the upgrade response first, then server frames. False after the
// connection failed.
bool Scale::consume(Conn& c, std::int64_t t_ns) {
  size_t pos = 0;
  if (c.state == State::kUpgrading) {
    const size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > kMaxHandshake) fail(c, kUpgrade);
      return c.state != State::kDead;
    }
    const size_t idx = static_cast<size_t>(&c - conns_.data());
    if (!wsbench::upgradeAccepted(std::string_view(c.in).substr(0, end + 2), keyFor(idx))) {
      fail(c, kUpgrade);
      return false;
    }
    c.state = State::kOpen;
    c.opened_s = static_cast<float>(wsbench::nowSeconds() - t0_);
    --pending_;
    ++open_;
    pos = end + 4;
  }
  const auto* data = reinterpret_cast<const uint8_t*>(c.in.data());
  while (c.in.size() > pos) {
    wsbench::FrameHeader h;
    const int r = wsbench::parseFrameHeader(data + pos, c.in.size() - pos, kMaxPayload, &h);
    if (r < 0 || (r > 0 && !h.fin)) {  // wman sends nothing fragmented here
      fail(c, kProtocol);
      return false;
    }
    if (r == 0 || c.in.size() - pos < h.size + h.payload) break;
    std::string_view payload(c.in.data() + pos + h.size, static_cast<size_t>(h.payload));
    pos += h.size + static_cast<size_t>(h.payload);
    if (h.opcode == 0x9) {
      ++pings_;
      c.last_ping_s = static_cast<float>(wsbench::nowSeconds() - t0_);
      c.out += wsbench::maskedFrame(0xA, payload, static_cast<uint32_t>(rng_()));
    } else if (h.opcode == 0x8) {
      if (first_close_code_ < 0 && payload.size() >= 2) {
        first_close_code_ =
            (static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]);
        for (char ch : payload.substr(2))
          first_close_why_ += (ch >= ' ' && ch <= '~' && ch != '"' && ch != '\\') ? ch : '?';
      }
      noteServerClose(c);
      fail(c, kCloseFrame);
      return false;
    } else if (h.opcode == 0x1 && payload.starts_with(opt_.tag)) {
      onText(payload.substr(opt_.tag.size()), t_ns);
    } else if (h.opcode != 0xA) {
      ++other_msgs_;
    }
  }
  c.in.erase(0, pos);
  return c.out.empty() || flush(c);
}

void Scale::onText(std::string_view text, std::int64_t t_ns) {
  std::int64_t sent = 0;
  if (!wsbench::parseNumber(text, &sent)) {
    ++other_msgs_;
    return;
  }
  const std::int64_t lat = std::max<std::int64_t>(t_ns - sent, 0);
  ++tagged_;
  if (tag_first_ns_ < 0 || lat < tag_first_ns_) tag_first_ns_ = lat;
  tag_last_ns_ = std::max(tag_last_ns_, lat);
}

// Tells a server that closed a connection for a ping timeout apart from one whose Ping never
// came: this client answers every Ping as soon as it reads it.
void Scale::noteServerClose(const Conn& c) {
  const double now = wsbench::nowSeconds() - t0_;
  const double age = now - c.opened_s;
  if (closed_min_age_s_ < 0 || age < closed_min_age_s_) closed_min_age_s_ = age;
  if (c.last_ping_s < 0) {
    ++closed_unpinged_;
    return;
  }
  const double since = now - c.last_ping_s;
  if (close_after_ping_min_s_ < 0 || since < close_after_ping_min_s_)
    close_after_ping_min_s_ = since;
  close_after_ping_max_s_ = std::max(close_after_ping_max_s_, since);
}

void Scale::expireConnects() {
  for (size_t i = 0; i < launched_; ++i) {
    Conn& c = conns_[i];
    if (c.state == State::kConnecting || c.state == State::kUpgrading) fail(c, kTimeout);
  }
  const auto never = static_cast<int>(conns_.size() - launched_);
  failed_ += never;
  why_[kTimeout] += never;
  launched_ = conns_.size();
}

void Scale::onSignal() {
  signalfd_siginfo si;
  while (read(sig_fd_, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGUSR1) {
      printStatus(false);
    } else {
      stop_ = true;
    }
  }
}

void Scale::printStatus(bool last) {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long rss_kib = ru.ru_maxrss;
  std::printf(
      "{\"mode\":\"scale\",\"label\":\"%s\",\"last\":%s,\"conns\":%zu,\"open\":%d,"
      "\"failed\":%d,\"lost\":%d,\"connect_s\":%.3f,\"pings\":%lld,"
      "\"tagged\":%lld,\"tag_first_ms\":%.3f,\"tag_last_ms\":%.3f,\"other_msgs\":%lld,"
      "\"first_close_code\":%d,\"first_close_reason\":\"%s\",\"lost_first_s\":%.1f,"
      "\"lost_last_s\":%.1f,\"closed_unpinged\":%lld,\"close_after_ping_min_s\":%.1f,"
      "\"close_after_ping_max_s\":%.1f,\"closed_min_age_s\":%.1f,\"cpu_s\":%.3f,\"max_rss_kib\":%"
      "lld,\"why\":{",
      opt_.label.c_str(), last ? "true" : "false", conns_.size(), open_, failed_, lost_, connect_s_,
      pings_, tagged_, static_cast<double>(tag_first_ns_) / 1e6,
      static_cast<double>(tag_last_ns_) / 1e6, other_msgs_, first_close_code_,
      first_close_why_.c_str(), lost_first_s_, lost_last_s_, closed_unpinged_,
      close_after_ping_min_s_, close_after_ping_max_s_, closed_min_age_s_,
      wsbench::processCpuSeconds(), rss_kib);
  for (int k = 0; k < kWhyCount; ++k)
    std::printf("%s\"%s\":%lld", k ? "," : "", kWhyNames[k], why_[k]);
  std::printf("}}\n");
  std::fflush(stdout);
}

int Scale::run() {
  addr_.sin_family = AF_INET;
  addr_.sin_port = htons(static_cast<uint16_t>(opt_.port));
  if (inet_pton(AF_INET, opt_.host.c_str(), &addr_.sin_addr) != 1) {
    std::fprintf(stderr, "wman_scale: --host must be an IPv4 address\n");
    return 2;
  }
  wsbench::raiseFdLimit(static_cast<rlim_t>(opt_.conns) + 32, "wman_scale");
  key_seed_ = rng_();
  request_prefix_ = wsbench::upgradeRequestPrefix(opt_.host, opt_.port, "/");
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sig_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  epoll_event sev{};
  sev.events = EPOLLIN;
  sev.data.u64 = kSignalTag;
  epoll_ctl(ep_, EPOLL_CTL_ADD, sig_fd_, &sev);
  conns_.resize(static_cast<size_t>(opt_.conns));
  t0_ = wsbench::nowSeconds();
  launch();
  std::vector<epoll_event> events(1024);
  while (!stop_) {
    if (connect_s_ < 0) {
      if (launched_ == conns_.size() && pending_ == 0) {
        connect_s_ = wsbench::nowSeconds() - t0_;
        std::printf("ready %d %d %.3f\n", open_, failed_, connect_s_);
        std::fflush(stdout);
      } else if (wsbench::nowSeconds() - t0_ > opt_.connect_timeout) {
        expireConnects();
        continue;
      }
    }
    const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[static_cast<size_t>(i)].data.u64;
      if (tag == kSignalTag) {
        onSignal();
      } else {
        onEvent(static_cast<size_t>(tag), events[static_cast<size_t>(i)].events);
      }
    }
    if (connect_s_ < 0) launch();
  }
  printStatus(true);
  return open_ > 0 ? 0 : 1;
}

// "A-B" (every IPv4 address from A to B), "A,B,C", or a mix.
bool parseSources(std::string_view s, std::vector<in_addr>* out) {
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    const size_t dash = item.find('-');
    in_addr lo{}, hi{};
    if (inet_pton(AF_INET, std::string(item.substr(0, dash)).c_str(), &lo) != 1) return false;
    hi = lo;
    if (dash != std::string_view::npos &&
        inet_pton(AF_INET, std::string(item.substr(dash + 1)).c_str(), &hi) != 1)
      return false;
    const uint32_t first = ntohl(lo.s_addr), last = ntohl(hi.s_addr);
    if (last < first || last - first >= 65536) return false;
    for (uint32_t a = first; a <= last; ++a) out->push_back({htonl(a)});
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return !out->empty();
}

int usageError(const char* msg, std::string_view arg) {
  std::fprintf(stderr, "wman_scale: %s: %.*s (see --help)\n", msg, static_cast<int>(arg.size()),
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
      return wsbench::printFreePort("wman_scale");
    } else if (a == "--host") {
      o.host = value();
    } else if (a == "--port") {
      ok = wsbench::parseNumber(value(), &o.port) && o.port > 0 && o.port < 65536;
    } else if (a == "--sources") {
      ok = parseSources(value(), &o.sources);
    } else if (a == "--first-source") {
      ok = wsbench::parseNumber(value(), &o.first_source) && o.first_source >= 0;
    } else if (a == "--conns") {
      ok = wsbench::parseNumber(value(), &o.conns) && o.conns > 0;
    } else if (a == "--connect-concurrency") {
      ok = wsbench::parseNumber(value(), &o.concurrency) && o.concurrency > 0;
    } else if (a == "--connect-timeout") {
      ok = wsbench::parseNumber(value(), &o.connect_timeout) && o.connect_timeout > 0;
    } else if (a == "--tag") {
      o.tag = value();
      ok = !o.tag.empty();
    } else if (a == "--label") {
      o.label = value();
      ok = o.label.find_first_of("\"\\") == std::string::npos;
    } else {
      return usageError("unknown option", a);
    }
    if (!ok) return usageError("bad or missing value for", a);
  }
  if (o.port == 0) return usageError("missing", "--port");
  if (o.sources.empty()) return usageError("missing", "--sources");
  return Scale(std::move(o)).run();
}
