#include "wman/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "detail/resolver.h"

namespace wman {
namespace {

class ResolveCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "resolve"; }
  std::string message(int ev) const override { return ::gai_strerror(ev); }
};

}  // namespace

SocketAddress::SocketAddress(const sockaddr* addr, socklen_t len) {
  const bool known =
      addr != nullptr && ((addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) ||
                          (addr->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)));
  if (!known) return;
  len_ = addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  std::memcpy(&storage_, addr, len_);
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size() || colon + 6 < text.size())
    return std::nullopt;
  unsigned port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  std::string h(host);
  sockaddr_storage storage{};
  if (!bracketed) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    if (::inet_pton(AF_INET, h.c_str(), &in->sin_addr) != 1) return std::nullopt;
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<std::uint16_t>(port));
    return SocketAddress(reinterpret_cast<const sockaddr*>(in), sizeof *in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  const auto percent = h.find('%');
  if (percent != std::string::npos) {
    char* end = nullptr;
    const unsigned long scope = std::strtoul(h.c_str() + percent + 1, &end, 10);
    if (percent + 1 == h.size() || *end != '\0' || scope > UINT32_MAX) return std::nullopt;
    in6->sin6_scope_id = static_cast<std::uint32_t>(scope);
    h.resize(percent);
  }
  if (::inet_pton(AF_INET6, h.c_str(), &in6->sin6_addr) != 1) return std::nullopt;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(static_cast<std::uint16_t>(port));
  return SocketAddress(reinterpret_cast<const sockaddr*>(in6), sizeof *in6);
}

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(get())->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(get())->sin6_port);
  return 0;
}

std::string SocketAddress::toString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(get())->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(get());
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    std::string out = "[" + std::string(text);
    if (in6->sin6_scope_id != 0) out += "%" + std::to_string(in6->sin6_scope_id);
    return out + "]:" + std::to_string(port());
  }
  return "(no address)";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family() || a.port() != b.port()) return false;
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b.get())->sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(a.get());
    const auto* y = reinterpret_cast<const sockaddr_in6*>(b.get());
    return std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 &&
           x->sin6_scope_id == y->sin6_scope_id;
  }
  return true;
}

const std::error_category& resolveCategory() {
  static const ResolveCategory category;
  return category;
}

ResolveResult resolve(std::string_view host, std::uint16_t port, const ResolveOptions& options) {
  if (host.empty()) return detail::resolveFailure(host, {EAI_NONAME, resolveCategory()});
  const std::string node(host);
  const std::string service = std::to_string(port);
  const addrinfo hints = detail::resolveHints(options);
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(node.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    // EAI_SYSTEM means the reason is in errno, which says more than "System error".
    const std::error_code ec = rc == EAI_SYSTEM ? std::error_code(errno, std::system_category())
                                                : std::error_code(rc, resolveCategory());
    return detail::resolveFailure(host, ec);
  }
  ResolveResult out = detail::resolveCollect(host, list);
  ::freeaddrinfo(list);
  return out;
}

namespace detail {

addrinfo resolveHints(const ResolveOptions& options) {
  addrinfo hints{};
  hints.ai_family = options.family == AddressFamily::IPv4   ? AF_INET
                    : options.family == AddressFamily::IPv6 ? AF_INET6
                                                            : AF_UNSPEC;
  // One entry per address: without a socket type each address comes back once per type.
  hints.ai_socktype = SOCK_STREAM;
  // The port is always numeric, so /etc/services is never consulted.
  hints.ai_flags = AI_NUMERICSERV;
  return hints;
}

ResolveResult resolveFailure(std::string_view host, std::error_code ec) {
  ResolveResult out;
  out.error = ec;
  out.message = host.empty() ? "cannot resolve an empty host"
                             : "cannot resolve host '" + std::string(host) + "': " + ec.message();
  return out;
}

ResolveResult resolveCollect(std::string_view host, const addrinfo* list) {
  ResolveResult out;
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    SocketAddress addr(a->ai_addr, a->ai_addrlen);
    if (addr.family() == AF_UNSPEC) continue;
    // /etc/hosts may name one address twice; a connect would try it twice.
    if (std::find(out.addresses.begin(), out.addresses.end(), addr) != out.addresses.end()) {
      continue;
    }
    out.addresses.push_back(addr);
  }
  if (out.addresses.empty()) return resolveFailure(host, {EAI_NONAME, resolveCategory()});
  return out;
}

}  // namespace detail
}  // namespace wman
