// The synchronous resolver every bind, check and socket-activation match goes through.
// Only loopback and the local resolver: ".invalid" names fail without asking the internet
// (RFC 6761), and nothing here needs a network.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netdb.h>

#include "wman/resolve.h"

using wman::AddressFamily;
using wman::resolve;
using wman::ResolveOptions;

namespace {

bool isLoopback(const wman::SocketAddress& a) {
  if (a.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a.get());
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.family() == AF_INET6) {
    return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_addr);
  }
  return false;
}

}  // namespace

TEST_CASE("resolve: numeric IPv4 gives exactly that address and port", "[resolve]") {
  auto r = resolve("127.0.0.1", 8080);
  REQUIRE(r.ok());
  CHECK(r.message.empty());
  REQUIRE(r.addresses.size() == 1);
  CHECK(r.addresses[0].family() == AF_INET);
  CHECK(r.addresses[0].size() == sizeof(sockaddr_in));
  CHECK(r.addresses[0].port() == 8080);
  CHECK(r.addresses[0].toString() == "127.0.0.1:8080");
}

TEST_CASE("resolve: numeric IPv6 without brackets", "[resolve]") {
  auto r = resolve("::1", 443);
  REQUIRE(r.ok());
  REQUIRE(r.addresses.size() == 1);
  CHECK(r.addresses[0].family() == AF_INET6);
  CHECK(r.addresses[0].size() == sizeof(sockaddr_in6));
  CHECK(r.addresses[0].toString() == "[::1]:443");

  auto full = resolve("2001:db8::42", 1);
  REQUIRE(full.ok());
  CHECK(full.addresses.at(0).toString() == "[2001:db8::42]:1");
}

TEST_CASE("resolve: the wildcard listen hosts stay single wildcard addresses", "[resolve]") {
  auto v4 = resolve("0.0.0.0", 80);
  REQUIRE(v4.ok());
  REQUIRE(v4.addresses.size() == 1);
  CHECK(v4.addresses[0].toString() == "0.0.0.0:80");
  auto v6 = resolve("::", 80);
  REQUIRE(v6.ok());
  REQUIRE(v6.addresses.size() == 1);
  CHECK(v6.addresses[0].toString() == "[::]:80");
}

TEST_CASE("resolve: ports 0 and 65535 are carried into every address", "[resolve]") {
  for (std::uint16_t port : {std::uint16_t{0}, std::uint16_t{65535}}) {
    auto r = resolve("localhost", port);
    REQUIRE(r.ok());
    for (const auto& a : r.addresses) CHECK(a.port() == port);
  }
}

TEST_CASE("resolve: localhost gives loopback addresses only, each once", "[resolve]") {
  auto r = resolve("localhost", 9000);
  REQUIRE(r.ok());
  REQUIRE_FALSE(r.addresses.empty());
  for (std::size_t i = 0; i < r.addresses.size(); ++i) {
    INFO(r.addresses[i].toString());
    CHECK(isLoopback(r.addresses[i]));
    CHECK(r.addresses[i].port() == 9000);
    for (std::size_t j = 0; j < i; ++j) CHECK_FALSE(r.addresses[i] == r.addresses[j]);
  }
}

TEST_CASE("resolve: a family restriction filters the answer", "[resolve]") {
  auto v4 = resolve("localhost", 1, ResolveOptions{AddressFamily::IPv4});
  REQUIRE(v4.ok());
  for (const auto& a : v4.addresses) CHECK(a.family() == AF_INET);

  auto only6 = resolve("::1", 1, ResolveOptions{AddressFamily::IPv6});
  REQUIRE(only6.ok());
  CHECK(only6.addresses.at(0).family() == AF_INET6);

  // A literal of the other family has no address to give.
  auto wrong = resolve("127.0.0.1", 1, ResolveOptions{AddressFamily::IPv6});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.addresses.empty());
  CHECK_THAT(wrong.message, Catch::StartsWith("cannot resolve host '127.0.0.1': "));
}

TEST_CASE("resolve: an unknown name fails naming the host and the resolver's reason", "[resolve]") {
  auto r = resolve("no-such-host.invalid", 8080);
  REQUIRE_FALSE(r.ok());
  CHECK(r.addresses.empty());
  REQUIRE(r.error);
  CHECK(std::string(r.error.category().name()) == "resolve");
  CHECK(&r.error.category() == &wman::resolveCategory());
  // The reason is gai_strerror's text for the code, so it reads the same as in other tools.
  CHECK(r.error.message() == ::gai_strerror(r.error.value()));
  CHECK(r.message == "cannot resolve host 'no-such-host.invalid': " + r.error.message());
}

TEST_CASE("resolve: an empty host is an error, not a wildcard", "[resolve]") {
  auto r = resolve("", 80);
  REQUIRE_FALSE(r.ok());
  CHECK(r.addresses.empty());
  CHECK(r.error == std::error_code(EAI_NONAME, wman::resolveCategory()));
  CHECK(r.message == "cannot resolve an empty host");
}

TEST_CASE("resolve: SocketAddress copies only IPv4 and IPv6", "[resolve]") {
  wman::SocketAddress none;
  CHECK(none.family() == AF_UNSPEC);
  CHECK(none.size() == 0);
  CHECK(none.port() == 0);

  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(7);
  ::inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
  wman::SocketAddress a(reinterpret_cast<sockaddr*>(&in), sizeof in);
  CHECK(a.toString() == "10.1.2.3:7");
  CHECK(a == resolve("10.1.2.3", 7).addresses.at(0));
  CHECK_FALSE(a == resolve("10.1.2.3", 8).addresses.at(0));

  // Too short for its family: refused rather than read past the end.
  wman::SocketAddress cut(reinterpret_cast<sockaddr*>(&in), sizeof in - 1);
  CHECK(cut.family() == AF_UNSPEC);
  sockaddr unix_addr{};
  unix_addr.sa_family = AF_UNIX;
  CHECK(wman::SocketAddress(&unix_addr, sizeof unix_addr).family() == AF_UNSPEC);
}
