// Host resolution for the whole project: listeners, the daemon's bound and activated sockets,
// and outbound connections all turn "host:port" into socket addresses here, so they accept
// the same hosts and report a failure in the same words.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace wman {

// Which address families a lookup may return.
enum class AddressFamily { Any, IPv4, IPv6 };

struct ResolveOptions {
  // Any returns IPv4 and IPv6 addresses in the order the system prefers (gai.conf), which is
  // the order a bind takes the first of and a connect should try.
  AddressFamily family = AddressFamily::Any;
};

// One IPv4 or IPv6 socket address (address and port), copied out of the resolver's answer
// so it outlives it.
class SocketAddress {
 public:
  SocketAddress() = default;
  // Copies `len` bytes of `addr`; anything but AF_INET/AF_INET6 gives an empty address.
  SocketAddress(const sockaddr* addr, socklen_t len);
  // "127.0.0.1:8080" or "[::1]:8080" (the form toString() prints, scope id included): an
  // address literal and a port, never a name, so it never blocks. nullopt for anything else.
  static std::optional<SocketAddress> parse(std::string_view text);

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  // AF_INET, AF_INET6, or AF_UNSPEC for an empty address.
  int family() const { return storage_.ss_family; }
  std::uint16_t port() const;
  // "127.0.0.1:8080" or "[::1]:8080", for logs and messages.
  std::string toString() const;

  // Same family, address, port (and IPv6 scope).
  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// The answer to one lookup: addresses (never empty on success), or an error.
struct ResolveResult {
  std::vector<SocketAddress> addresses;
  // resolveCategory() for resolver failures (the value is getaddrinfo's EAI_* code),
  // another category for system errors. Empty on success.
  std::error_code error;
  // One line for users, naming the host and the reason:
  // "cannot resolve host 'no-such-host.invalid': Name or service not known". Empty on success.
  std::string message;

  bool ok() const { return !error; }
};

// Resolves `host` (an IPv4 or IPv6 literal without brackets, "localhost", or a name looked up
// through the system resolver: /etc/hosts, then DNS) with `port` set in every address.
// Literals never touch DNS. Blocks the calling thread for as long as the lookup takes, so it
// is for start-up, bind and config-check time; a running loop uses the asynchronous form in
// core (outbound connections). An empty host is an error, not a wildcard: listen on 0.0.0.0
// or :: for that.
ResolveResult resolve(std::string_view host, std::uint16_t port,
                      const ResolveOptions& options = {});

// The "resolve" error category: getaddrinfo's EAI_* codes with gai_strerror() messages.
const std::error_category& resolveCategory();

}  // namespace wman
