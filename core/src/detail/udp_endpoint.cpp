#include "detail/udp_endpoint.h"

#include <fcntl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/uv_error.h"
#include "detail/worker_runtime.h"

namespace wman::detail {
namespace {

std::error_code sysError() {
  return uvError(-errno);
}

// The kernel's count of datagrams dropped on `fd` (a 32-bit counter that wraps), 0 if unknown.
std::uint32_t kernelDrops(int fd) {
  std::uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0 ||
      len <= SK_MEMINFO_DROPS * sizeof info[0]) {
    return 0;
  }
  return info[SK_MEMINFO_DROPS];
}

// `to` as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), which a dual-stack socket sends to.
SocketAddress mappedToIpv6(const SocketAddress& to) {
  const auto* in = reinterpret_cast<const sockaddr_in*>(to.get());
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = in->sin_port;
  in6.sin6_addr.s6_addr[10] = 0xff;
  in6.sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&in6.sin6_addr.s6_addr[12], &in->sin_addr, sizeof in->sin_addr);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&in6), sizeof in6);
}

template <class Handle>
void closeHandle(Handle*& h) {
  // A loop shut down by uv_walk may have closed it already (without freeing it).
  if (h && !uv_is_closing(reinterpret_cast<uv_handle_t*>(h))) {
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
  }
  h = nullptr;
}

}  // namespace

struct UdpEndpoint::Socket {
  UdpEndpoint* owner = nullptr;
  std::size_t index = 0;  // in sockets_
  int fd = -1;
  int family = AF_UNSPEC;
  uv_poll_t* handle = nullptr;
  std::uint32_t drops = 0;  // the kernel's drop count when last sampled
};

UdpEndpoint::UdpEndpoint(WorkerRuntime& runtime)
    : runtime_(runtime), conn_(runtime.worker(), *this, runtime.takeId()) {}

UdpEndpoint::~UdpEndpoint() {
  close();
}

std::error_code UdpEndpoint::open(int fd) {
  const Worker& w = runtime_.worker();
  codec_ = runtime_.createCodec();
  if (!codec_) return std::make_error_code(std::errc::protocol_not_supported);
  max_size_ = w.limits.max_package_size;
  slot_size_ = std::clamp<std::size_t>(max_size_, 1, kMaxDatagram);
  // With one socket shared by all processes of the worker, each would report the same drops.
  count_drops_ = w.reusePort || w.count <= 1 || w.id() == 0;
  rx_data_.reset(new char[kBatch * slot_size_]);
  for (std::size_t i = 0; i < kBatch; ++i) {
    rx_iov_[i] = {rx_data_.get() + i * slot_size_, slot_size_};
    rx_[i].msg_hdr.msg_iov = &rx_iov_[i];
    rx_[i].msg_hdr.msg_iovlen = 1;
    rx_[i].msg_hdr.msg_name = &rx_from_[i];
  }
  pending_.reserve(kBatch);
  if (fd >= 0) return add(fd);
  if (auto ec = bindUrl(fd)) return ec;
  if (auto ec = watch(fd)) {
    ::close(fd);
    return ec;
  }
  return {};
}

std::error_code UdpEndpoint::bindUrl(int& fd) {
  const ListenUrl& url = runtime_.worker().listenUrl();
  // Resolved once, synchronously, at start-up, as the master's bind does.
  const ResolveResult resolved = resolve(url.host, url.port);
  if (!resolved.ok()) return resolved.error;
  const SocketAddress& addr = resolved.addresses.front();
  const int s = ::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return sysError();
  if (::bind(s, addr.get(), addr.size()) != 0) {
    auto ec = sysError();
    ::close(s);
    return ec;
  }
  fd = s;
  return {};
}

std::error_code UdpEndpoint::add(int fd) {
  if (closed_) return std::make_error_code(std::errc::not_connected);
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return sysError();
  if (type != SOCK_DGRAM) return std::make_error_code(std::errc::wrong_protocol_type);
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return sysError();
  return watch(fd);
}

std::error_code UdpEndpoint::watch(int fd) {
  auto s = std::make_unique<Socket>();
  s->owner = this;
  s->index = sockets_.size();
  s->fd = fd;
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0)
    s->family = local.ss_family;
  s->drops = kernelDrops(fd);
  s->handle = new uv_poll_t;
  if (int rc = uv_poll_init(runtime_.loop().raw(), s->handle, fd); rc != 0) {
    delete s->handle;
    return uvError(rc);
  }
  s->handle->data = s.get();
  if (started_) {
    if (int rc = uv_poll_start(s->handle, UV_READABLE, &UdpEndpoint::onReadable); rc != 0) {
      closeHandle(s->handle);
      return uvError(rc);
    }
  }
  sockets_.push_back(std::move(s));
  return {};
}

std::error_code UdpEndpoint::start() {
  started_ = true;
  for (auto& s : sockets_) {
    if (int rc = uv_poll_start(s->handle, UV_READABLE, &UdpEndpoint::onReadable); rc != 0)
      return uvError(rc);
  }
  return {};
}

void UdpEndpoint::close() {
  if (closed_) return;
  flush();
  sampleKernelDrops();
  closed_ = true;
  // The Socket records stay until destruction: close() may run inside receive(), which still
  // holds one.
  for (auto& s : sockets_) {
    closeHandle(s->handle);
    if (s->fd >= 0) ::close(s->fd);
    s->fd = -1;
  }
  if (flush_due_) runtime_.loop().cancelPassEnd(this);
  flush_due_ = false;
}

SocketAddress UdpEndpoint::boundAddress(std::size_t socket) const {
  if (socket >= sockets_.size() || sockets_[socket]->fd < 0) return {};
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (::getsockname(sockets_[socket]->fd, reinterpret_cast<sockaddr*>(&local), &len) != 0)
    return {};
  return SocketAddress(reinterpret_cast<const sockaddr*>(&local), len);
}

std::uint16_t UdpEndpoint::port() const {
  return boundAddress(0).port();
}

std::string UdpEndpoint::localAddress(std::size_t socket) const {
  const SocketAddress local = boundAddress(socket);
  return local.family() == AF_UNSPEC ? std::string() : local.toString();
}

void UdpEndpoint::sampleKernelDrops() {
  if (!count_drops_) return;
  for (auto& s : sockets_) {
    if (s->fd < 0) continue;
    const std::uint32_t now = kernelDrops(s->fd);
    // Unsigned subtraction keeps the count right across the counter's wrap.
    runtime_.stats().udp_dropped += static_cast<std::uint32_t>(now - s->drops);
    s->drops = now;
  }
}

void UdpEndpoint::onReadable(uv_poll_t* handle, int status, int) {
  auto* s = static_cast<Socket*>(handle->data);
  if (status < 0) {
    log().warn("worker {}: polling a UDP socket failed: {}", s->owner->runtime_.worker().name,
               uv_strerror(status));
    return;
  }
  s->owner->receive(*s);
}

void UdpEndpoint::receive(Socket& s) {
  for (int call = 0; call < kCallsPerWake && !closed_; ++call) {
    for (auto& m : rx_) m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    const int n = ::recvmmsg(s.fd, rx_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK &&
          runtime_.admitLog(PeerCause::Datagram, spdlog::level::warn)) {
        log().warn("worker {}: receiving datagrams failed: {}", runtime_.worker().name,
                   std::strerror(errno));
      }
      return;
    }
    delivering_ = true;
    for (int i = 0; i < n && !closed_; ++i) deliver(s.index, static_cast<std::size_t>(i));
    delivering_ = false;
    flush();
    if (static_cast<std::size_t>(n) < kBatch) return;
  }
}

void UdpEndpoint::deliver(std::size_t socket, std::size_t i) {
  ++runtime_.stats().udp_in;
  const msghdr& h = rx_[i].msg_hdr;
  const std::size_t size = rx_[i].msg_len;
  conn_.bind(static_cast<const sockaddr*>(h.msg_name), h.msg_namelen, socket,
             codec_->defaultKind());
  if ((h.msg_flags & MSG_TRUNC) != 0 || size > max_size_) {
    dropped(1, "larger than max_package_size", true);
  } else if (size == 0) {
    dropped(1, "empty datagram", true);
  } else {
    decode({reinterpret_cast<const std::byte*>(rx_iov_[i].iov_base), size});
  }
  conn_.unbind();
}

// Every message of one datagram, in order. A datagram is complete by itself: a message it
// leaves unfinished can never be completed, so it is lost like undecodable bytes.
void UdpEndpoint::decode(ByteSpan datagram) {
  ByteSpan rest = datagram;
  while (!rest.empty() && !closed_) {
    const DecodeResult r = codec_->decode(rest);
    const bool message = r.status == DecodeResult::Status::Message;
    if ((!message && r.status != DecodeResult::Status::NeedMore) || r.consumed == 0) {
      dropped(1, r.status == DecodeResult::Status::Error ? r.reason : "incomplete message", true);
      // Its parsing state belongs to the datagram it gave up on.
      codec_ = runtime_.createCodec();
      return;
    }
    if (message) dispatch(r);
    rest = rest.subspan(std::min(r.consumed, rest.size()));
  }
  if (codec_->inMessage()) {
    dropped(1, "incomplete message", true);
    codec_ = runtime_.createCodec();
  }
}

void UdpEndpoint::dispatch(const DecodeResult& r) {
  ++runtime_.stats().messages;
  conn_.setReplyKind(r.kind);
  const auto& on_message = runtime_.worker().onMessage;
  if (!on_message) return;
  // Not detail::dispatch(): there is no connection to close, and a sender whose datagrams
  // make the callback throw must not flood the log, so the line goes through the limiter.
  auto failed = [this](const char* what) {
    runtime_.stats().callback_errors++;
    runtime_.peerLog(PeerCause::Datagram, spdlog::level::err, conn_, "onMessage threw: {}", what);
  };
  try {
    on_message(conn_, Message(r.payload, r.kind));
  } catch (const std::exception& e) {
    failed(e.what());
  } catch (...) {
    failed("a non-standard exception");
  }
}

SendStatus UdpEndpoint::send(std::size_t socket, const sockaddr* to, socklen_t len,
                             std::string_view data, MessageKind kind, bool raw) {
  if (closed_ || socket >= sockets_.size()) return SendStatus::NotConnected;
  // Checked before encoding, so a huge payload never grows the send buffer.
  if (data.size() > kMaxDatagram || len > sizeof(sockaddr_storage)) {
    dropped(1, "datagram too large to send");
    return SendStatus::Dropped;
  }
  if (pending_.size() == kBatch) flush();
  Pending& p = pending_.emplace_back();
  p.socket = socket;
  std::memcpy(&p.to, to, len);
  p.len = len;
  p.offset = out_.size();
  if (raw) {
    out_.append(data);
  } else {
    codec_->encode(asBytes(data), kind, out_);
  }
  p.size = out_.size() - p.offset;
  if (p.size > kMaxDatagram) {
    out_.resize(p.offset);
    pending_.pop_back();
    dropped(1, "datagram too large to send");
    return SendStatus::Dropped;
  }
  if (pending_.size() == kBatch || out_.size() >= kFlushBytes) {
    flush();
  } else if (!delivering_ && !flush_due_) {
    flush_due_ = true;
    runtime_.loop().atPassEnd(this);
  }
  return SendStatus::Ok;
}

SendStatus UdpEndpoint::sendTo(const SocketAddress& to, std::string_view data) {
  if (closed_ || sockets_.empty()) return SendStatus::NotConnected;
  if (to.family() == AF_INET && sockets_[0]->family == AF_INET6) {
    const SocketAddress mapped = mappedToIpv6(to);
    return send(0, mapped.get(), mapped.size(), data, codec_->defaultKind(), false);
  }
  return send(0, to.get(), to.size(), data, codec_->defaultKind(), false);
}

void UdpEndpoint::passEnded() {
  flush_due_ = false;
  flush();
}

void UdpEndpoint::flush() {
  std::size_t first = 0;
  for (std::size_t i = 1; i <= pending_.size(); ++i) {
    // One sendmmsg() per run of datagrams leaving through the same socket.
    if (i == pending_.size() || pending_[i].socket != pending_[first].socket) {
      sendRun(first, i);
      first = i;
    }
  }
  pending_.clear();
  out_.clear();
}

void UdpEndpoint::sendRun(std::size_t first, std::size_t end) {
  const std::size_t n = end - first;
  for (std::size_t k = 0; k < n; ++k) {
    Pending& p = pending_[first + k];
    tx_iov_[k] = {out_.data() + p.offset, p.size};
    tx_[k].msg_hdr = {};
    tx_[k].msg_hdr.msg_name = &p.to;
    tx_[k].msg_hdr.msg_namelen = p.len;
    tx_[k].msg_hdr.msg_iov = &tx_iov_[k];
    tx_[k].msg_hdr.msg_iovlen = 1;
  }
  const int fd = sockets_[pending_[first].socket]->fd;
  std::size_t k = 0;
  while (k < n) {
    const int sent = fd < 0 ? -1 : ::sendmmsg(fd, &tx_[k], static_cast<unsigned>(n - k), 0);
    if (sent > 0) {
      runtime_.stats().udp_out += static_cast<std::uint64_t>(sent);
      k += static_cast<std::size_t>(sent);
      continue;
    }
    const int err = fd < 0 ? EBADF : errno;
    if (err == EINTR) continue;
    const SocketAddress peer(reinterpret_cast<const sockaddr*>(&pending_[first + k].to),
                             pending_[first + k].len);
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EBADF) {
      // Nothing more leaves this socket now; the rest of the run is lost as well.
      dropped(n - k, std::string("not sent to ") + peer.toString() + ": " + std::strerror(err));
      return;
    }
    // This one datagram was refused (too large, unreachable address...); the rest may go.
    dropped(1, std::string("not sent to ") + peer.toString() + ": " + std::strerror(err));
    ++k;
  }
}

void UdpEndpoint::dropped(std::uint64_t count, std::string_view why, bool received) {
  runtime_.stats().udp_dropped += count;
  if (!runtime_.admitLog(PeerCause::Datagram, spdlog::level::info)) return;
  const std::string from = received ? conn_.remoteAddress() : std::string();
  log().info("worker {}: dropped {} datagram{}{}{}: {}", runtime_.worker().name, count,
             count == 1 ? "" : "s", from.empty() ? "" : " from ", from, why);
}

}  // namespace wman::detail
