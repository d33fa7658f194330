// UDP echo load generator for bench/run_udp. Standalone (links no wman code): N sockets on
// 127.0.0.1 each keep W datagrams in flight to a UDP echo server and send one more per echo
// received. A datagram lost anywhere would shrink a socket's window for good, so a socket that
// heard nothing for kRefillMs tops its window up again. Prints one JSON line: echoed
// datagrams per second over the measured window and, with --cpu-pids, the server's CPU
// microseconds per echoed datagram (utime + stime of those processes).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr long kRefillMs = 200;

struct Options {
  int port = 0;
  int sockets = 16;
  int window = 8;
  std::size_t size = 32;
  double duration = 10;
  double warmup = 2;
  std::string cpu_pids;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: wman_udp_loadgen --port P [--sockets N] [--window W] [--size BYTES]\n"
               "         [--duration S] [--warmup S] [--cpu-pids PID,PID...]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (a == "--port")
      o.port = std::atoi(v);
    else if (a == "--sockets")
      o.sockets = std::atoi(v);
    else if (a == "--window")
      o.window = std::atoi(v);
    else if (a == "--size")
      o.size = static_cast<std::size_t>(std::atol(v));
    else if (a == "--duration")
      o.duration = std::atof(v);
    else if (a == "--warmup")
      o.warmup = std::atof(v);
    else if (a == "--cpu-pids")
      o.cpu_pids = v;
    else
      usage();
  }
  if (o.port <= 0 || o.sockets <= 0 || o.window <= 0) usage();
  return o;
}

// utime + stime of the processes in `pids` (comma-separated), in clock ticks.
long long cpuTicks(const std::string& pids) {
  long long total = 0;
  std::stringstream list(pids);
  std::string pid;
  while (std::getline(list, pid, ',')) {
    std::ifstream f("/proc/" + pid + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt
    long long utime = 0, stime = 0;
    fields >> utime >> stime;
    total += utime + stime;
  }
  return total;
}

struct Peer {
  int fd;
  Clock::time_point last;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons(static_cast<std::uint16_t>(o.port));
  std::vector<Peer> peers;
  std::vector<pollfd> polls;
  for (int i = 0; i < o.sockets; ++i) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
      std::perror("socket");
      return 1;
    }
    peers.push_back({fd, Clock::now()});
    polls.push_back({fd, POLLIN, 0});
  }
  const std::string payload(o.size, 'x');
  auto topUp = [&](Peer& p) {
    for (int k = 0; k < o.window; ++k) ::send(p.fd, payload.data(), payload.size(), 0);
    p.last = Clock::now();
  };
  for (Peer& p : peers) topUp(p);
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration<double>(o.warmup);
  const auto end = measure_from + std::chrono::duration<double>(o.duration);
  bool measuring = false;
  long long echoed = 0, ticks_before = 0;
  std::vector<char> buf(65536);
  for (auto now = start; now < end; now = Clock::now()) {
    if (!measuring && now >= measure_from) {
      measuring = true;
      echoed = 0;
      ticks_before = cpuTicks(o.cpu_pids);
    }
    if (::poll(polls.data(), polls.size(), 50) < 0) continue;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      Peer& p = peers[i];
      if (polls[i].revents & POLLIN) {
        while (::recv(p.fd, buf.data(), buf.size(), 0) > 0) {
          ++echoed;
          ::send(p.fd, payload.data(), payload.size(), 0);
          p.last = Clock::now();
        }
      } else if (now - p.last > std::chrono::milliseconds(kRefillMs)) {
        topUp(p);
      }
    }
  }
  const double seconds = o.duration;
  const long long ticks = cpuTicks(o.cpu_pids) - ticks_before;
  const double us = echoed > 0 && !o.cpu_pids.empty()
                        ? static_cast<double>(ticks) * 1e6 /
                              static_cast<double>(sysconf(_SC_CLK_TCK)) /
                              static_cast<double>(echoed)
                        : -1;
  std::printf(
      "{\"mode\":\"udp\",\"sockets\":%d,\"window\":%d,\"size\":%zu,\"echoed\":%lld,"
      "\"datagrams_per_s\":%.0f,\"server_us_per_datagram\":%.3f}\n",
      o.sockets, o.window, o.size, echoed, static_cast<double>(echoed) / seconds, us);
  return 0;
}
