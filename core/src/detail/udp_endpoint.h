// A udp:// worker's sockets on its loop: the one it binds itself (in-process serving, tests)
// or inherits from the master, plus any further SO_REUSEPORT clone its slot serves. There is
// no accept: each datagram goes through the worker's codec and every message decoded from it
// reaches onMessage through one DatagramConnection bound to the sender.
//
// Receiving is batched: one recvmmsg() takes up to kBatch datagrams, at most kCallsPerWake
// calls per wake-up of a socket, so a burst costs few system calls and cannot hold the loop.
// Sending is batched too: replies made while a batch is delivered, and sendTo() calls made
// anywhere during one loop iteration, are queued and leave together with sendmmsg() (after
// the batch, or just before the loop polls). A datagram the kernel refuses (EAGAIN included)
// is dropped and counted, never queued for later: UDP promises no delivery, and holding
// datagrams would only add memory and latency.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/datagram_connection.h"
#include "detail/event_loop.h"
#include "wman/codec.h"
#include "wman/resolve.h"

namespace wman::detail {

class WorkerRuntime;

class UdpEndpoint : private EventLoop::PassEnd {
 public:
  explicit UdpEndpoint(WorkerRuntime& runtime);
  ~UdpEndpoint();
  UdpEndpoint(const UdpEndpoint&) = delete;
  UdpEndpoint& operator=(const UdpEndpoint&) = delete;

  // Takes over `fd`, a UDP socket bound by another process (the master), or with fd < 0
  // binds the worker's URL itself. Receiving starts with start().
  std::error_code open(int fd);
  // Serves one more inherited socket of the same address (an SO_REUSEPORT clone).
  std::error_code add(int fd);
  // Starts receiving. Separate from open() so onWorkerStart runs before the first datagram.
  std::error_code start();
  // Sends what is queued, stops receiving and closes this process's copies of the sockets
  // (the master's copies keep queueing datagrams for the next worker of the slot). Safe to
  // call from onMessage and more than once.
  void close();

  std::uint16_t port() const;
  // The address of socket number `socket` ("ip:port"), "" once closed.
  std::string localAddress(std::size_t socket) const;

  // Queues one datagram to `to` (len bytes) on socket number `socket`: `data` encoded by the
  // worker's codec as `kind`, or as it is when `raw`. Ok once queued; Dropped (and counted)
  // when the datagram would exceed kMaxDatagram; NotConnected once closed.
  SendStatus send(std::size_t socket, const sockaddr* to, socklen_t len, std::string_view data,
                  MessageKind kind, bool raw);
  // Worker::sendTo(): an unprompted datagram from the first socket, of the codec's default
  // kind. An IPv4 address is sent to as IPv4-mapped when the socket is IPv6 (dual stack).
  SendStatus sendTo(const SocketAddress& to, std::string_view data);

  // Adds to stats().udp_dropped the datagrams the kernel dropped on these sockets (receive
  // queue full) since the last call. A socket shared by several worker processes is counted
  // by slot 0 only.
  void sampleKernelDrops();

  // Datagrams per recvmmsg()/sendmmsg() call.
  static constexpr std::size_t kBatch = 32;
  // recvmmsg() calls per wake-up of one socket: a flood yields to the loop's other work.
  static constexpr int kCallsPerWake = 4;
  // Largest datagram received or sent (a UDP payload is at most 65,527 bytes over IPv6,
  // 65,507 over IPv4); larger ones do not exist without jumbograms.
  static constexpr std::size_t kMaxDatagram = 65536;
  // Queued bytes that make a send flush at once rather than at the end of the batch.
  static constexpr std::size_t kFlushBytes = 256 * 1024;

 private:
  struct Socket;
  // A datagram waiting for the next flush: its bytes are out_[offset, offset + size).
  struct Pending {
    std::size_t socket = 0;
    sockaddr_storage to{};
    socklen_t len = 0;
    std::size_t offset = 0;
    std::size_t size = 0;
  };

  std::error_code bindUrl(int& fd);
  std::error_code watch(int fd);
  static void onReadable(uv_poll_t* handle, int status, int events);
  void receive(Socket& socket);
  void deliver(std::size_t socket, std::size_t index);
  void decode(ByteSpan datagram);
  void dispatch(const DecodeResult& message);
  void flush();
  void passEnded() override;
  void sendRun(std::size_t first, std::size_t end);
  // Counts lost datagrams and logs them (rate-limited), naming the sender when `received`.
  void dropped(std::uint64_t count, std::string_view why, bool received = false);
  SocketAddress boundAddress(std::size_t socket) const;

  WorkerRuntime& runtime_;
  std::vector<std::unique_ptr<Socket>> sockets_;
  std::unique_ptr<Codec> codec_;
  DatagramConnection conn_;
  std::size_t slot_size_ = kMaxDatagram;  // receive buffer per datagram
  std::size_t max_size_ = 0;              // limits.max_package_size
  bool count_drops_ = true;               // this process reports the kernel's drops
  bool started_ = false;
  bool closed_ = false;
  bool delivering_ = false;  // inside a batch: sends wait for its end
  // Receive side: kBatch slots of slot_size_ bytes and the headers recvmmsg() fills.
  std::unique_ptr<char[]> rx_data_;
  std::array<mmsghdr, kBatch> rx_{};
  std::array<iovec, kBatch> rx_iov_{};
  std::array<sockaddr_storage, kBatch> rx_from_{};
  // Send side: queued datagrams, their bytes, and the headers sendmmsg() takes.
  std::vector<Pending> pending_;
  std::string out_;
  std::array<mmsghdr, kBatch> tx_{};
  std::array<iovec, kBatch> tx_iov_{};
  bool flush_due_ = false;  // sends made outside a batch go out at the loop pass's end
};

}  // namespace wman::detail
