// wman_loadgen: a standalone WebSocket (RFC 6455) load generator for the wman benchmark.
//
// It opens many client connections from one thread with Linux epoll, completes the opening
// handshake, and then either echoes messages against an echo server (load mode) or holds the
// connections idle so a script can read the server's memory (idle mode). It links no wman code,
// so the same binary measures wman and the peer servers alike.
//
// Load mode: every connection keeps --pipeline messages in flight: it sends that many once the
// handshake completes, and one more for every verified echo. A warm-up runs first; only the
// --duration window after it is counted. Each echo is checked for kind, size and content.
//
// Idle mode (--idle N): opens N connections, completes the handshakes, prints "ready <open>
// <failed>" on stdout and waits for SIGINT/SIGTERM (or a line / EOF on stdin when stdin is a
// pipe or a terminal). Then it prints the result line and exits.
//
// TLS (--tls): the same over wss://. Each connection runs an OpenSSL client on its non-blocking
// socket (SSL_read/SSL_write on the fd, read-ahead on) before the WebSocket handshake; with --ca
// the server's certificate chain and its name or address are verified. The plain path makes
// the same system calls as without TLS support.
//
// Output: one JSON object on one line on stdout (plus the "ready" line in idle mode).

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ws_bench_common.h"

namespace {

using wsbench::nowSeconds;
using wsbench::parseNumber;
using wsbench::processCpuSeconds;
using wsbench::sumCpuTicks;

constexpr std::string_view kUsage = R"(usage: wman_loadgen [options]
       wman_loadgen --free-port

Load mode (default): each connection keeps D messages in flight against an echo server and
verifies every echo (kind, size, content).
Idle mode (--idle N): open N connections, finish the handshakes, print "ready <open> <failed>",
then hold them until SIGINT/SIGTERM (or a line/EOF on stdin if stdin is a pipe or tty).

  --host H            server address (default 127.0.0.1)
  --port P            server port (required)
  --path PATH         request path (default /)
  --conns N           connections in load mode (default 100)
  --size BYTES        payload bytes per message (default 32)
  --text | --binary   message kind (default --text)
  --pipeline D        messages in flight per connection (default 1)
  --duration S        measured seconds (default 10)
  --warmup S          seconds run before the measured window, not counted (default 1)
  --idle N            idle mode with N connections
  --connect-concurrency K
                      at most K connects/handshakes in progress at once (default 256)
  --connect-timeout S give up on unfinished connects after S seconds (default 60)
  --cpu-pids P1,P2    sample utime+stime of these processes (/proc/PID/stat) at the start
                      and end of the measured window; reports server CPU us per message
  --label TEXT        copied into the JSON result
  --no-verify         check kind and size of echoes but not their content
  --tls               connect with TLS (wss://); the server certificate is not verified
                      unless --ca is given
  --ca FILE           with --tls: trust the CA certificates in FILE (PEM) and verify the
                      server's chain and its name (--host) or IP address
  --free-port         print a free TCP port on 127.0.0.1 and exit
  --help              this text

Result: one JSON line on stdout. Load mode fields: messages (echoes verified in the window),
seconds, msgs_per_s, mib_per_s, errors, error_kinds, conns_open, server_cpu_us,
server_us_per_msg, server_cpu_util, client_cpu_util. Idle mode: conns_open, errors,
connect_seconds. With --tls also transport ("wss"), tls_version, tls_cipher and tls_group, as
negotiated by the first connection that opened. Exit status 0 when the run finished, 1 when
nothing connected, 2 on bad usage.
)";

constexpr size_t kReadBufSize = 256 * 1024;
constexpr size_t kMaxHandshakeBytes = 16 * 1024;
constexpr uint64_t kMaxFramePayload = 64ull * 1024 * 1024;
constexpr int kFramePool = 64;  // distinct pre-masked frames cycled through by every connection
constexpr uint64_t kSignalTag = ~0ull;
constexpr uint64_t kStdinTag = ~0ull - 1;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/";
  int conns = 100;
  size_t size = 32;
  bool binary = false;
  int pipeline = 1;
  double duration = 10;
  double warmup = 1;
  int idle = 0;
  int connect_concurrency = 256;
  double connect_timeout = 60;
  std::vector<int> cpu_pids;
  std::string label;
  bool verify = true;
  bool tls = false;
  std::string ca;  // PEM file of trusted CAs; empty = do not verify the server
};

enum ErrorKind { kConnect, kHandshake, kProtocol, kMismatch, kClosed, kIo, kTls, kErrorKinds };
constexpr std::array<const char*, kErrorKinds> kErrorNames = {
    "connect", "handshake", "protocol", "mismatch", "closed", "io", "tls"};

// kTlsHandshake only with --tls: TCP connected, TLS handshake in progress. kHandshake is the
// WebSocket upgrade.
enum class State { kConnecting, kTlsHandshake, kHandshake, kOpen, kDead };

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;  // with --tls, from the TCP connect on
  State state = State::kConnecting;
  bool epoll_out = false;  // EPOLLOUT currently requested
  std::string out;         // bytes the kernel has not accepted yet
  size_t out_off = 0;
  std::string in;   // unparsed bytes carried over between reads
  std::string key;  // Sec-WebSocket-Key sent in the request
  // Reassembly of a fragmented echo.
  bool in_message = false;
  uint8_t msg_opcode = 0;
  size_t msg_len = 0;
  int pool_next = 0;
};

// The first queued OpenSSL error as text, for messages on stderr.
std::string opensslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

class LoadGen {
 public:
  explicit LoadGen(Options opt) : opt_(std::move(opt)), rng_(std::random_device{}()) {}
  ~LoadGen() {
    if (ssl_ctx_) SSL_CTX_free(ssl_ctx_);
  }

  int run();

 private:
  bool resolve();
  void buildPayload();
  void buildFramePool();
  void launchConnects();
  bool openOne(Conn& c);
  void onEvent(size_t idx, uint32_t events);
  void onConnected(Conn& c);
  bool setupTls();
  void driveTlsHandshake(Conn& c);
  void startUpgrade(Conn& c);
  // SSL_read/SSL_write with the conventions of recv/send: >0 bytes, 0 = closed (read), -1 with
  // errno EAGAIN (retry on readiness), EPIPE/ECONNRESET, or EPROTO for a TLS error.
  ssize_t tlsRead(Conn& c, uint8_t* buf, size_t cap);
  ssize_t tlsWrite(Conn& c, const char* data, size_t len);
  void onReadable(Conn& c);
  bool consumeHandshake(Conn& c, std::string_view data, size_t* used);
  // Parses server frames; returns bytes consumed, or SIZE_MAX after closing the connection.
  size_t consumeFrames(Conn& c, const uint8_t* data, size_t len, int* echoes);
  bool onDataFrame(Conn& c, uint8_t opcode, bool fin, const uint8_t* p, size_t n);
  void queueMessages(Conn& c, int count);
  void queueControl(Conn& c, uint8_t opcode, const uint8_t* p, size_t n);
  bool flush(Conn& c);
  void setWantWrite(Conn& c, bool want);
  void fail(Conn& c, ErrorKind kind);
  void handshakeDone(Conn& c);
  void onPhaseBoundary(double now);
  void printLoadResult(double now);
  void printIdleResult();
  void printTlsFields();
  bool inWindow() const { return phase_ == Phase::kMeasure; }

  enum class Phase { kConnecting, kWarmup, kMeasure, kHold, kDone };

  Options opt_;
  std::mt19937_64 rng_;
  sockaddr_in addr_{};
  int ep_ = -1;
  int sig_fd_ = -1;
  std::vector<Conn> conns_;
  int target_ = 0;
  int launched_ = 0;
  int pending_ = 0;  // connects + handshakes in progress
  int open_ = 0;
  int failed_connect_ = 0;  // connections that never opened
  std::array<long long, kErrorKinds> errors_{};
  std::string payload_;
  std::string pool_;  // kFramePool complete masked frames, each frame_len_ bytes
  size_t frame_len_ = 0;
  std::string request_prefix_;
  std::vector<uint8_t> rbuf_ = std::vector<uint8_t>(kReadBufSize);
  Phase phase_ = Phase::kConnecting;
  double t_start_ = 0, t_connected_ = 0, t_phase_end_ = 0, t_measure_ = 0;
  double client_cpu_start_ = 0;
  long long server_ticks_start_ = -1;
  long long messages_ = 0;
  bool stop_ = false;
  SSL_CTX* ssl_ctx_ = nullptr;
  bool host_is_ip_ = false;
  std::string tls_version_, tls_cipher_, tls_group_;  // of the first TLS handshake completed
};

bool LoadGen::resolve() {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(opt_.host.c_str(), nullptr, &hints, &res) != 0 || !res) {
    std::fprintf(stderr, "wman_loadgen: cannot resolve %s\n", opt_.host.c_str());
    return false;
  }
  std::memcpy(&addr_, res->ai_addr, sizeof addr_);
  addr_.sin_port = htons(static_cast<uint16_t>(opt_.port));
  freeaddrinfo(res);
  return true;
}

void LoadGen::buildPayload() {
  payload_.resize(opt_.size);
  for (size_t i = 0; i < opt_.size; ++i) {
    // Text stays printable ASCII (valid UTF-8); binary covers every byte value.
    payload_[i] = opt_.binary ? static_cast<char>(rng_() & 0xff)
                              : static_cast<char>('a' + static_cast<int>(rng_() % 26));
  }
}

// Client frames must be masked. Masking every message on the fly would cost the load
// generator CPU it should spend on I/O, so a pool of frames with distinct random keys is
// built once and cycled.
void LoadGen::buildFramePool() {
  const uint8_t opcode = opt_.binary ? 0x2 : 0x1;
  frame_len_ = 0;
  for (int f = 0; f < kFramePool; ++f) {
    std::string frame = wsbench::maskedFrame(opcode, payload_, static_cast<uint32_t>(rng_()));
    frame_len_ = frame.size();
    pool_ += frame;
  }
}

void LoadGen::launchConnects() {
  while (launched_ < target_ && pending_ < opt_.connect_concurrency) {
    Conn& c = conns_[launched_];
    ++launched_;
    if (openOne(c)) {
      ++pending_;
    } else {
      ++failed_connect_;
      ++errors_[kConnect];
    }
  }
}

bool LoadGen::openOne(Conn& c) {
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    c.state = State::kDead;
    return false;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
  if (rc != 0 && errno != EINPROGRESS) {
    close(c.fd);
    c.fd = -1;
    c.state = State::kDead;
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
  epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  c.epoll_out = true;
  c.state = State::kConnecting;
  return true;
}

void LoadGen::setWantWrite(Conn& c, bool want) {
  if (c.epoll_out == want || c.fd < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  c.epoll_out = want;
}

void LoadGen::fail(Conn& c, ErrorKind kind) {
  if (c.state == State::kDead) return;
  ++errors_[kind];
  if (c.state == State::kOpen) {
    --open_;
  } else {
    --pending_;
    ++failed_connect_;
  }
  c.state = State::kDead;
  if (c.ssl) {
    SSL_free(c.ssl);  // leaves the fd open (SSL_set_fd does not take ownership)
    c.ssl = nullptr;
  }
  if (c.fd >= 0) {
    close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
  }
  std::string().swap(c.out);
  std::string().swap(c.in);
}

void LoadGen::onConnected(Conn& c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    fail(c, kConnect);
    return;
  }
  if (ssl_ctx_) {
    c.ssl = SSL_new(ssl_ctx_);
    if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1) {
      fail(c, kTls);
      return;
    }
    SSL_set_connect_state(c.ssl);
    if (!host_is_ip_) SSL_set_tlsext_host_name(c.ssl, opt_.host.c_str());  // no SNI for IPs
    if (!opt_.ca.empty()) {
      X509_VERIFY_PARAM* param = SSL_get0_param(c.ssl);
      if (host_is_ip_ ? X509_VERIFY_PARAM_set1_ip_asc(param, opt_.host.c_str()) != 1
                      : SSL_set1_host(c.ssl, opt_.host.c_str()) != 1) {
        fail(c, kTls);
        return;
      }
    }
    c.state = State::kTlsHandshake;
    driveTlsHandshake(c);
    return;
  }
  startUpgrade(c);
}

bool LoadGen::setupTls() {
  in6_addr ip6;
  in_addr ip4;
  host_is_ip_ = inet_pton(AF_INET, opt_.host.c_str(), &ip4) == 1 ||
                inet_pton(AF_INET6, opt_.host.c_str(), &ip6) == 1;
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ssl_ctx_) {
    std::fprintf(stderr, "wman_loadgen: SSL_CTX_new: %s\n", opensslError().c_str());
    return false;
  }
  SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_2_VERSION);
  // Writes come from Conn::out, which may move and grow between retries; read-ahead lets one
  // recv fetch several records. An EOF without close_notify reads as a close, as with TCP.
  long mode = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
  // Idle connections hold no record buffers, so 10,000 of them stay cheap in the generator.
  if (opt_.idle > 0) mode |= SSL_MODE_RELEASE_BUFFERS;
  SSL_CTX_set_mode(ssl_ctx_, mode);
  SSL_CTX_set_read_ahead(ssl_ctx_, 1);
  SSL_CTX_set_options(ssl_ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_session_cache_mode(ssl_ctx_, SSL_SESS_CACHE_OFF);  // every handshake is a full one
  if (!opt_.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ssl_ctx_, opt_.ca.c_str(), nullptr) != 1) {
      std::fprintf(stderr, "wman_loadgen: cannot load CA file %s: %s\n", opt_.ca.c_str(),
                   opensslError().c_str());
      return false;
    }
    SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER, nullptr);
  }
  return true;
}

void LoadGen::driveTlsHandshake(Conn& c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c.ssl);
  if (r == 1) {
    if (tls_version_.empty()) {
      tls_version_ = SSL_get_version(c.ssl);
      tls_cipher_ = SSL_get_cipher_name(c.ssl);
      int nid = SSL_get_negotiated_group(c.ssl);
      const char* group = nid > 0 ? OBJ_nid2sn(nid) : nullptr;
      tls_group_ = group ? group : "";
    }
    startUpgrade(c);
    return;
  }
  switch (SSL_get_error(c.ssl, r)) {
    case SSL_ERROR_WANT_READ:
      setWantWrite(c, false);
      return;
    case SSL_ERROR_WANT_WRITE:
      setWantWrite(c, true);
      return;
    default:
      if (opt_.idle == 0 && errors_[kTls] == 0) {
        long v = SSL_get_verify_result(c.ssl);
        std::fprintf(stderr, "wman_loadgen: TLS handshake failed: %s%s%s\n", opensslError().c_str(),
                     v != X509_V_OK ? "; certificate: " : "",
                     v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
      }
      fail(c, kTls);
  }
}

ssize_t LoadGen::tlsRead(Conn& c, uint8_t* buf, size_t cap) {
  // Decrypt every record already buffered, so one call returns what one recv fetched.
  size_t total = 0;
  ERR_clear_error();
  while (total < cap) {
    size_t got = 0;
    int r = SSL_read_ex(c.ssl, buf + total, cap - total, &got);
    if (r == 1) {
      total += got;
      if (!SSL_has_pending(c.ssl)) break;
      continue;
    }
    if (total > 0) break;  // hand over the data; the condition shows again on the next call
    switch (SSL_get_error(c.ssl, r)) {
      case SSL_ERROR_WANT_READ:
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_WANT_WRITE:
        setWantWrite(c, true);
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      case SSL_ERROR_SYSCALL:
        if (errno == 0) errno = ECONNRESET;
        return -1;
      default:
        errno = EPROTO;
        return -1;
    }
  }
  return static_cast<ssize_t>(total);
}

ssize_t LoadGen::tlsWrite(Conn& c, const char* data, size_t len) {
  ERR_clear_error();
  size_t written = 0;
  int r = SSL_write_ex(c.ssl, data, len, &written);
  if (r == 1) return static_cast<ssize_t>(written);
  switch (SSL_get_error(c.ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_SYSCALL:
      if (errno == 0) errno = EPIPE;
      return -1;
    default:
      errno = EPROTO;
      return -1;
  }
}

// Sends the HTTP upgrade request once the transport (TCP, or TLS over it) is up.
void LoadGen::startUpgrade(Conn& c) {
  uint8_t raw[16];
  for (auto& b : raw) b = static_cast<uint8_t>(rng_());
  c.key = wsbench::base64(raw, sizeof raw);
  c.state = State::kHandshake;
  c.out = request_prefix_;
  c.out += "Sec-WebSocket-Key: " + c.key + "\r\n\r\n";
  c.out_off = 0;
  flush(c);
}

bool LoadGen::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = c.ssl
                    ? tlsWrite(c, c.out.data() + c.out_off, c.out.size() - c.out_off)
                    : send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      setWantWrite(c, true);
      return true;
    }
    fail(c, errno == EPIPE || errno == ECONNRESET ? kClosed : errno == EPROTO ? kTls : kIo);
    return false;
  }
  c.out.clear();
  c.out_off = 0;
  setWantWrite(c, false);
  return true;
}

void LoadGen::queueMessages(Conn& c, int count) {
  for (int i = 0; i < count; ++i) {
    c.out.append(pool_, static_cast<size_t>(c.pool_next) * frame_len_, frame_len_);
    c.pool_next = (c.pool_next + 1) % kFramePool;
  }
}

void LoadGen::queueControl(Conn& c, uint8_t opcode, const uint8_t* p, size_t n) {
  uint32_t key = static_cast<uint32_t>(rng_());
  uint8_t mask[4];
  std::memcpy(mask, &key, 4);
  c.out += static_cast<char>(0x80 | opcode);
  c.out += static_cast<char>(0x80 | n);  // control payloads are at most 125 bytes
  c.out.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < n; ++i) c.out += static_cast<char>(p[i] ^ mask[i & 3]);
}

void LoadGen::handshakeDone(Conn& c) {
  c.state = State::kOpen;
  --pending_;
  ++open_;
  if (opt_.idle == 0) queueMessages(c, opt_.pipeline);
}

// Reads the HTTP response to the upgrade request. Returns false after failing the connection.
// On success *used is the number of bytes of `data` that belonged to the response, or
// SIZE_MAX if the response is not complete yet.
bool LoadGen::consumeHandshake(Conn& c, std::string_view data, size_t* used) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > kMaxHandshakeBytes) {
      fail(c, kHandshake);
      return false;
    }
    *used = SIZE_MAX;
    return true;
  }
  if (!wsbench::upgradeAccepted(data.substr(0, end + 2), c.key)) {
    fail(c, kHandshake);
    return false;
  }
  std::string().swap(c.key);
  *used = end + 4;
  handshakeDone(c);
  return true;
}

bool LoadGen::onDataFrame(Conn& c, uint8_t opcode, bool fin, const uint8_t* p, size_t n) {
  const uint8_t expected = opt_.binary ? 0x2 : 0x1;
  if (opcode == 0x0) {
    if (!c.in_message) {
      fail(c, kProtocol);
      return false;
    }
  } else {
    if (c.in_message) {
      fail(c, kProtocol);
      return false;
    }
    c.in_message = true;
    c.msg_opcode = opcode;
    c.msg_len = 0;
  }
  if (c.msg_opcode != expected || opt_.idle != 0 || c.msg_len + n > opt_.size ||
      (opt_.verify && n > 0 && std::memcmp(p, payload_.data() + c.msg_len, n) != 0)) {
    fail(c, kMismatch);
    return false;
  }
  c.msg_len += n;
  if (!fin) return true;
  c.in_message = false;
  if (c.msg_len != opt_.size) {
    fail(c, kMismatch);
    return false;
  }
  return true;
}

size_t LoadGen::consumeFrames(Conn& c, const uint8_t* data, size_t len, int* echoes) {
  size_t pos = 0;
  while (len - pos >= 2) {
    wsbench::FrameHeader h;
    const int parsed = wsbench::parseFrameHeader(data + pos, len - pos, kMaxFramePayload, &h);
    if (parsed == 0) break;
    if (parsed < 0) {  // no extensions negotiated; servers never mask
      fail(c, kProtocol);
      return SIZE_MAX;
    }
    const bool fin = h.fin;
    const uint8_t opcode = h.opcode;
    const size_t header = h.size;
    const uint64_t n = h.payload;
    if (len - pos < header + n) break;
    const uint8_t* p = data + pos + header;
    pos += header + static_cast<size_t>(n);
    if (opcode & 0x8) {
      if (!fin || n > 125) {
        fail(c, kProtocol);
        return SIZE_MAX;
      }
      if (opcode == 0x8) {
        fail(c, kClosed);
        return SIZE_MAX;
      }
      if (opcode == 0x9) queueControl(c, 0xA, p, static_cast<size_t>(n));
      if (opcode != 0x9 && opcode != 0xA) {
        fail(c, kProtocol);
        return SIZE_MAX;
      }
      continue;
    }
    if (opcode > 0x2) {
      fail(c, kProtocol);
      return SIZE_MAX;
    }
    if (!onDataFrame(c, opcode, fin, p, static_cast<size_t>(n))) return SIZE_MAX;
    if (fin) ++*echoes;
  }
  return pos;
}

void LoadGen::onReadable(Conn& c) {
  for (;;) {
    ssize_t n =
        c.ssl ? tlsRead(c, rbuf_.data(), rbuf_.size()) : recv(c.fd, rbuf_.data(), rbuf_.size(), 0);
    if (n == 0) {
      fail(c, kClosed);
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      fail(c, errno == ECONNRESET ? kClosed : errno == EPROTO ? kTls : kIo);
      return;
    }
    const uint8_t* data = rbuf_.data();
    size_t len = static_cast<size_t>(n);
    bool carried = !c.in.empty() || c.state == State::kHandshake;
    if (carried) {
      c.in.append(reinterpret_cast<const char*>(data), len);
      data = reinterpret_cast<const uint8_t*>(c.in.data());
      len = c.in.size();
    }
    size_t off = 0;
    if (c.state == State::kHandshake) {
      size_t used = 0;
      if (!consumeHandshake(c, std::string_view(reinterpret_cast<const char*>(data), len), &used))
        return;
      if (used == SIZE_MAX) return;  // response incomplete; everything stays in c.in
      off = used;
    }
    int echoes = 0;
    size_t consumed = consumeFrames(c, data + off, len - off, &echoes);
    if (consumed == SIZE_MAX) return;
    off += consumed;
    if (carried) {
      c.in.erase(0, off);
    } else if (off < len) {
      c.in.assign(reinterpret_cast<const char*>(data + off), len - off);
    }
    if (echoes > 0) {
      if (inWindow()) messages_ += echoes;
      if (phase_ != Phase::kDone) queueMessages(c, echoes);
    }
    if (c.out_off < c.out.size() && !flush(c)) return;
    // Drained; level-triggered epoll re-arms. With TLS, read-ahead may hold whole records that
    // epoll cannot see, so keep going while OpenSSL has any.
    if (c.ssl ? !SSL_has_pending(c.ssl) : static_cast<size_t>(n) < rbuf_.size()) return;
  }
}

void LoadGen::onEvent(size_t idx, uint32_t events) {
  Conn& c = conns_[idx];
  if (c.state == State::kDead) return;
  if (c.state == State::kConnecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) onConnected(c);
    return;
  }
  if (c.state == State::kTlsHandshake) {
    driveTlsHandshake(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    onReadable(c);
    if (c.state == State::kDead) return;
  }
  if (events & EPOLLOUT) {
    if (c.ssl && c.out_off >= c.out.size()) {
      // Nothing of ours to send: OpenSSL asked for writability inside SSL_read (a post-handshake
      // message); reading again lets it finish.
      setWantWrite(c, false);
      onReadable(c);
    } else {
      flush(c);
    }
  }
}

void LoadGen::onPhaseBoundary(double now) {
  switch (phase_) {
    case Phase::kConnecting:
      t_connected_ = now;
      if (opt_.idle > 0) {
        phase_ = Phase::kHold;
        std::printf("ready %d %d\n", open_, failed_connect_);
        std::fflush(stdout);
      } else {
        phase_ = Phase::kWarmup;
        t_phase_end_ = now + opt_.warmup;
      }
      break;
    case Phase::kWarmup:
      phase_ = Phase::kMeasure;
      t_measure_ = now;
      t_phase_end_ = now + opt_.duration;
      client_cpu_start_ = processCpuSeconds();
      server_ticks_start_ = opt_.cpu_pids.empty() ? -1 : sumCpuTicks(opt_.cpu_pids);
      break;
    case Phase::kMeasure:
      printLoadResult(now);
      phase_ = Phase::kDone;
      break;
    case Phase::kHold:
    case Phase::kDone:
      break;
  }
}

void LoadGen::printLoadResult(double now) {
  const double seconds = now - t_measure_;
  const double client_cpu = processCpuSeconds() - client_cpu_start_;
  long long ticks_end = opt_.cpu_pids.empty() ? -1 : sumCpuTicks(opt_.cpu_pids);
  double server_cpu_us = -1;
  if (server_ticks_start_ >= 0 && ticks_end >= 0)
    server_cpu_us = static_cast<double>(ticks_end - server_ticks_start_) * 1e6 /
                    static_cast<double>(sysconf(_SC_CLK_TCK));
  long long total_errors = 0;
  for (long long e : errors_) total_errors += e;
  const double msgs = static_cast<double>(messages_);
  std::printf(
      "{\"mode\":\"load\",\"label\":\"%s\",\"conns\":%d,\"size\":%zu,\"kind\":\"%s\","
      "\"pipeline\":%d,\"warmup_s\":%.3f,\"seconds\":%.3f,\"messages\":%lld,"
      "\"msgs_per_s\":%.1f,\"mib_per_s\":%.2f,\"errors\":%lld,\"error_kinds\":{",
      opt_.label.c_str(), opt_.conns, opt_.size, opt_.binary ? "binary" : "text", opt_.pipeline,
      opt_.warmup, seconds, messages_, seconds > 0 ? msgs / seconds : 0.0,
      seconds > 0 ? msgs * static_cast<double>(opt_.size) / seconds / (1024.0 * 1024.0) : 0.0,
      total_errors);
  for (int k = 0; k < kErrorKinds; ++k)
    std::printf("%s\"%s\":%lld", k ? "," : "", kErrorNames[k], errors_[k]);
  std::printf("},\"conns_open\":%d,\"connect_seconds\":%.3f", open_, t_connected_ - t_start_);
  if (server_cpu_us >= 0) {
    std::printf(",\"server_cpu_us\":%.0f,\"server_us_per_msg\":%.3f,\"server_cpu_util\":%.3f",
                server_cpu_us, msgs > 0 ? server_cpu_us / msgs : 0.0,
                seconds > 0 ? server_cpu_us / 1e6 / seconds : 0.0);
  } else {
    std::printf(",\"server_cpu_us\":null,\"server_us_per_msg\":null,\"server_cpu_util\":null");
  }
  std::printf(",\"client_cpu_util\":%.3f", seconds > 0 ? client_cpu / seconds : 0.0);
  printTlsFields();
  std::printf("}\n");
  std::fflush(stdout);
}

void LoadGen::printTlsFields() {
  if (!ssl_ctx_) return;
  std::printf(
      ",\"transport\":\"wss\",\"tls_version\":\"%s\",\"tls_cipher\":\"%s\",\"tls_group\":\"%s\"",
      tls_version_.c_str(), tls_cipher_.c_str(), tls_group_.c_str());
}

void LoadGen::printIdleResult() {
  long long total_errors = 0;
  for (long long e : errors_) total_errors += e;
  std::printf(
      "{\"mode\":\"idle\",\"label\":\"%s\",\"conns\":%d,\"conns_open\":%d,\"errors\":%lld,"
      "\"error_kinds\":{",
      opt_.label.c_str(), opt_.idle, open_, total_errors);
  for (int k = 0; k < kErrorKinds; ++k)
    std::printf("%s\"%s\":%lld", k ? "," : "", kErrorNames[k], errors_[k]);
  std::printf("},\"connect_seconds\":%.3f", t_connected_ - t_start_);
  printTlsFields();
  std::printf("}\n");
  std::fflush(stdout);
}

int LoadGen::run() {
  if (!resolve()) return 2;
  if (opt_.tls && !setupTls()) return 2;
  target_ = opt_.idle > 0 ? opt_.idle : opt_.conns;
  wsbench::raiseFdLimit(static_cast<rlim_t>(target_) + 64, "wman_loadgen");
  buildPayload();
  buildFramePool();
  request_prefix_ = wsbench::upgradeRequestPrefix(opt_.host, opt_.port, opt_.path);

  ep_ = epoll_create1(EPOLL_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sig_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kSignalTag;
  epoll_ctl(ep_, EPOLL_CTL_ADD, sig_fd_, &ev);
  if (opt_.idle > 0) {
    ev.data.u64 = kStdinTag;
    // Fails with EPERM for /dev/null and regular files: then only a signal ends the hold.
    epoll_ctl(ep_, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
  }

  conns_.resize(static_cast<size_t>(target_));
  t_start_ = nowSeconds();
  launchConnects();

  std::vector<epoll_event> events(1024);
  while (phase_ != Phase::kDone && !stop_) {
    double now = nowSeconds();
    if (phase_ == Phase::kConnecting) {
      if (launched_ == target_ && pending_ == 0) {
        if (open_ == 0) {
          std::fprintf(stderr, "wman_loadgen: no connection could be opened\n");
          t_connected_ = t_measure_ = now;
          opt_.idle > 0 ? printIdleResult() : printLoadResult(now);
          return 1;
        }
        onPhaseBoundary(now);
      } else if (now - t_start_ > opt_.connect_timeout) {
        for (int i = 0; i < launched_; ++i) {
          Conn& c = conns_[static_cast<size_t>(i)];
          if (c.state == State::kConnecting || c.state == State::kTlsHandshake ||
              c.state == State::kHandshake)
            fail(c, kConnect);
        }
        failed_connect_ += target_ - launched_;
        errors_[kConnect] += target_ - launched_;
        launched_ = target_;
        continue;
      }
    } else if ((phase_ == Phase::kWarmup || phase_ == Phase::kMeasure) && now >= t_phase_end_) {
      onPhaseBoundary(now);
      continue;
    }
    int timeout_ms = 100;
    if (phase_ == Phase::kWarmup || phase_ == Phase::kMeasure)
      timeout_ms = std::clamp(static_cast<int>((t_phase_end_ - now) * 1000) + 1, 0, 100);
    int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      std::perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kSignalTag) {
        signalfd_siginfo si;
        while (read(sig_fd_, &si, sizeof si) == sizeof si) {
        }
        stop_ = true;
      } else if (tag == kStdinTag) {
        char b[256];
        ssize_t r = read(STDIN_FILENO, b, sizeof b);
        if (r <= 0 || std::memchr(b, '\n', static_cast<size_t>(r))) stop_ = true;
        if (r <= 0) epoll_ctl(ep_, EPOLL_CTL_DEL, STDIN_FILENO, nullptr);
      } else {
        onEvent(static_cast<size_t>(tag), events[i].events);
      }
    }
    if (phase_ == Phase::kConnecting) launchConnects();
  }
  if (opt_.idle > 0) {
    if (phase_ == Phase::kConnecting) t_connected_ = nowSeconds();
    printIdleResult();
  } else if (phase_ != Phase::kDone) {
    // Interrupted early: report what was measured so far.
    if (phase_ != Phase::kMeasure) {
      t_measure_ = nowSeconds();
      client_cpu_start_ = processCpuSeconds();
    }
    printLoadResult(nowSeconds());
  }
  return 0;
}

int usageError(const char* msg, std::string_view arg) {
  std::fprintf(stderr, "wman_loadgen: %s: %.*s (see --help)\n", msg, static_cast<int>(arg.size()),
               arg.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) return {};
      return argv[++i];
    };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    } else if (a == "--free-port") {
      return wsbench::printFreePort("wman_loadgen");
    } else if (a == "--host") {
      opt.host = value();
      ok = !opt.host.empty();
    } else if (a == "--port") {
      ok = parseNumber(value(), &opt.port) && opt.port > 0 && opt.port < 65536;
    } else if (a == "--path") {
      opt.path = value();
      ok = !opt.path.empty() && opt.path[0] == '/';
    } else if (a == "--conns") {
      ok = parseNumber(value(), &opt.conns) && opt.conns > 0;
    } else if (a == "--size") {
      ok = parseNumber(value(), &opt.size) && opt.size <= kMaxFramePayload;
    } else if (a == "--text") {
      opt.binary = false;
    } else if (a == "--binary") {
      opt.binary = true;
    } else if (a == "--pipeline") {
      ok = parseNumber(value(), &opt.pipeline) && opt.pipeline > 0;
    } else if (a == "--duration") {
      ok = parseNumber(value(), &opt.duration) && opt.duration > 0;
    } else if (a == "--warmup") {
      ok = parseNumber(value(), &opt.warmup) && opt.warmup >= 0;
    } else if (a == "--idle") {
      ok = parseNumber(value(), &opt.idle) && opt.idle > 0;
    } else if (a == "--connect-concurrency") {
      ok = parseNumber(value(), &opt.connect_concurrency) && opt.connect_concurrency > 0;
    } else if (a == "--connect-timeout") {
      ok = parseNumber(value(), &opt.connect_timeout) && opt.connect_timeout > 0;
    } else if (a == "--cpu-pids") {
      ok = wsbench::parseIntList(value(), &opt.cpu_pids);
    } else if (a == "--label") {
      opt.label = value();
      ok = opt.label.find_first_of("\"\\") == std::string::npos;
    } else if (a == "--no-verify") {
      opt.verify = false;
    } else if (a == "--tls") {
      opt.tls = true;
    } else if (a == "--ca") {
      opt.ca = value();
      ok = !opt.ca.empty();
    } else {
      return usageError("unknown option", a);
    }
    if (!ok) return usageError("bad or missing value for", a);
  }
  if (opt.port == 0) return usageError("missing", "--port");
  if (!opt.ca.empty() && !opt.tls) return usageError("--ca needs", "--tls");
  return LoadGen(std::move(opt)).run();
}
