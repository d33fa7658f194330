// Shared by the standalone bench tools (wman_loadgen, wman_fanout): the client side of the
// WebSocket opening handshake, masked client frames, server frame headers, CPU sampling from
// /proc and small helpers. Header-only; like the tools, it links no wman code, so the same
// client measures wman and the peer servers alike.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace wsbench {

constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

inline double nowSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline std::int64_t nowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline double processCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// utime+stime of one process (all its threads) in clock ticks, or -1 if unreadable.
inline long long procCpuTicks(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name may contain spaces; fields resume after the last ')'.
  char* p = std::strrchr(buf, ')');
  if (!p) return -1;
  long long utime = 0, stime = 0;
  // After ')': state is field 3; utime and stime are fields 14 and 15.
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime,
                  &stime) != 2)
    return -1;
  return utime + stime;
}

inline long long sumCpuTicks(const std::vector<int>& pids) {
  long long total = 0;
  for (int pid : pids) {
    long long t = procCpuTicks(pid);
    if (t < 0) return -1;
    total += t;
  }
  return total;
}

inline double ticksToMicros(long long ticks) {
  return static_cast<double>(ticks) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline std::string base64(const uint8_t* data, size_t len) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = static_cast<uint32_t>(data[i]) << 16;
    if (i + 1 < len) v |= static_cast<uint32_t>(data[i + 1]) << 8;
    if (i + 2 < len) v |= data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < len ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < len ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// The Sec-WebSocket-Accept value the server must answer for `key`.
inline std::string expectedAccept(const std::string& key) {
  std::string input = key + std::string(kWsGuid);
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1)
    return {};
  return base64(digest, digest_len);
}

inline bool iequalsPrefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The start of a client's upgrade request; the caller appends "Sec-WebSocket-Key: K\r\n\r\n".
inline std::string upgradeRequestPrefix(const std::string& host, int port,
                                        const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
}

// `head` is the server's response up to and including the last header's CRLF. True when it is
// a 101 whose Sec-WebSocket-Accept matches `key`.
inline bool upgradeAccepted(std::string_view head, const std::string& key) {
  if (!iequalsPrefix(head, "HTTP/1.1 101")) return false;
  const std::string want = expectedAccept(key);
  if (want.empty()) return true;  // no SHA-1 available: the status line has to do
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string_view line = head.substr(pos + 2, next - pos - 2);
    if (iequalsPrefix(line, "sec-websocket-accept:"))
      return trim(line.substr(std::strlen("sec-websocket-accept:"))) == want;
    pos = next;
  }
  return false;
}

// One complete client frame: FIN set, masked with `key` as RFC 6455 requires of clients.
inline std::string maskedFrame(uint8_t opcode, std::string_view payload, uint32_t key) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  const uint64_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((n >> shift) & 0xff);
  }
  uint8_t mask[4];
  std::memcpy(mask, &key, 4);
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < n; ++i)
    f += static_cast<char>(static_cast<uint8_t>(payload[i]) ^ mask[i & 3]);
  return f;
}

// A server frame's header. parseFrameHeader returns 1 when it is complete in `data`, 0 when more
// bytes are needed, and -1 when it breaks the rules for a server frame without extensions (RSV
// bits, a mask, a payload over `max_payload`).
struct FrameHeader {
  bool fin = false;
  uint8_t opcode = 0;
  size_t size = 0;  // header bytes
  uint64_t payload = 0;
};

inline int parseFrameHeader(const uint8_t* data, size_t len, uint64_t max_payload, FrameHeader* h) {
  if (len < 2) return 0;
  const uint8_t b0 = data[0], b1 = data[1];
  if ((b0 & 0x70) != 0 || (b1 & 0x80) != 0) return -1;
  h->fin = (b0 & 0x80) != 0;
  h->opcode = b0 & 0x0f;
  h->size = 2;
  uint64_t n = b1 & 0x7f;
  if (n == 126) {
    if (len < 4) return 0;
    n = (static_cast<uint64_t>(data[2]) << 8) | data[3];
    h->size = 4;
  } else if (n == 127) {
    if (len < 10) return 0;
    n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | data[2 + i];
    h->size = 10;
  }
  if (n > max_payload) return -1;
  h->payload = n;
  return 1;
}

// Raises RLIMIT_NOFILE to at least `need` (the hard limit too, when privileged).
inline void raiseFdLimit(rlim_t need, const char* prog) {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) return;
  rlimit want = rl;
  want.rlim_cur = need;
  if (want.rlim_max < need) want.rlim_max = need;
  if (setrlimit(RLIMIT_NOFILE, &want) == 0) return;
  want.rlim_cur = rl.rlim_max;
  want.rlim_max = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &want);
  std::fprintf(stderr, "%s: warning: RLIMIT_NOFILE is %llu, wanted %llu\n", prog,
               static_cast<unsigned long long>(rl.rlim_max), static_cast<unsigned long long>(need));
}

// Prints a free TCP port on 127.0.0.1; returns the exit status.
inline int printFreePort(const char* prog) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::fprintf(stderr, "%s: free port: %s\n", prog, std::strerror(errno));
    return 1;
  }
  std::printf("%d\n", ntohs(a.sin_port));
  close(fd);
  return 0;
}

template <typename T>
bool parseNumber(std::string_view s, T* out) {
  if constexpr (std::is_floating_point_v<T>) {
    char* end = nullptr;
    std::string copy(s);
    *out = std::strtod(copy.c_str(), &end);
    return !copy.empty() && end && *end == '\0';
  } else {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  }
}

// "P1,P2,..." of positive integers.
inline bool parseIntList(std::string_view s, std::vector<int>* out) {
  while (!s.empty()) {
    size_t comma = s.find(',');
    int v = 0;
    if (!parseNumber(s.substr(0, comma), &v) || v <= 0) return false;
    out->push_back(v);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return !out->empty();
}

}  // namespace wsbench
