// Shared by the TLS tests: throwaway certificates, contexts built or failed loudly, and a
// server/client pair of sessions that pump bytes to each other in memory.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "detail/tls_context.h"
#include "detail/tls_session.h"
#include "wman/config.h"

namespace wman::test {

using detail::TlsClientOptions;
using detail::TlsContext;
using detail::TlsSession;

// The output of scripts/gen_test_certs, made once per test process in a fresh temp
// directory that is removed at exit. See the script for the files it writes.
class TestCerts {
 public:
  static const TestCerts& get() {
    static const TestCerts certs;
    return certs;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }

  // Runs the script again into a new subdirectory with extra arguments; returns its path.
  std::string generate(const std::string& subdir, const std::string& args) const {
    const std::string out = dir_ + "/" + subdir;
    run(out, args);
    return out;
  }

  ~TestCerts() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

 private:
  TestCerts() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/wman-tls-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    run(dir_, "");
  }
  static void run(const std::string& out, const std::string& args) {
    const std::string command =
        std::string("'") + WMAN_GEN_TEST_CERTS + "' '" + out + "' " + args + " >&2";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }
  std::string dir_;
};

// [worker.tls] with the test server certificate.
inline TlsConfig serverConfig() {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls;
  tls.cert = c.path("server.pem");
  tls.key = c.path("server.key");
  return tls;
}

// A verifying client that trusts the test CA and expects "localhost".
inline TlsClientOptions clientOptions() {
  TlsClientOptions o;
  o.ca = TestCerts::get().path("ca.pem");
  o.server_name = "localhost";
  return o;
}

inline std::shared_ptr<TlsContext> makeServer(const TlsConfig& tls) {
  std::string error;
  auto ctx = TlsContext::createServer(tls, &error);
  INFO("createServer: " << error);
  REQUIRE(ctx);
  return ctx;
}

inline std::shared_ptr<TlsContext> makeClient(const TlsClientOptions& options) {
  std::string error;
  auto ctx = TlsContext::createClient(options, &error);
  INFO("createClient: " << error);
  REQUIRE(ctx);
  return ctx;
}

// Appends everything `s` can decrypt now to `out`.
inline void drain(TlsSession& s, std::string& out) {
  char buf[16384];
  std::ptrdiff_t n;
  while ((n = s.read(buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
}

// A client and a server session wired back to back.
struct SessionPair {
  SessionPair(std::shared_ptr<TlsContext> client_ctx, std::shared_ptr<TlsContext> server_ctx)
      : client(std::make_unique<TlsSession>(std::move(client_ctx))),
        server(std::make_unique<TlsSession>(std::move(server_ctx))) {}

  // Delivers everything each side sends, round after round, until both are quiet. With
  // `chunk` > 0 ciphertext is delivered in pieces of that size, each followed by a read.
  void pump(std::size_t chunk = 0) {
    for (int round = 0; round < 1000; ++round) {
      const bool a = deliver(*client, *server, server_got, chunk);
      const bool b = deliver(*server, *client, client_got, chunk);
      if (!a && !b) return;
    }
    FAIL("sessions never went quiet");
  }

  bool handshake() {
    pump();
    return client->state() == TlsSession::State::Open && server->state() == TlsSession::State::Open;
  }

  static bool deliver(TlsSession& from, TlsSession& to, std::string& got, std::size_t chunk) {
    std::string wire;
    from.takeOutput(wire);
    if (wire.empty()) {
      drain(to, got);  // a session may still have buffered input or a pending step
      return false;
    }
    const std::size_t step = chunk ? chunk : wire.size();
    for (std::size_t i = 0; i < wire.size(); i += step) {
      to.feed(wire.data() + i, std::min(step, wire.size() - i));
      drain(to, got);
    }
    return true;
  }

  std::unique_ptr<TlsSession> client;
  std::unique_ptr<TlsSession> server;
  std::string client_got;  // plaintext the client decrypted
  std::string server_got;  // plaintext the server decrypted
};

// SHA-256 of the first certificate in a PEM file, lower-case hex: what
// TlsSession::peerFingerprint() reports when that certificate is served.
inline std::string fileFingerprint(const std::string& pem_path) {
  std::FILE* f = std::fopen(pem_path.c_str(), "r");
  REQUIRE(f);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(cert);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(cert, EVP_sha256(), digest, &length);
  X509_free(cert);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", digest[i]);
    hex += b;
  }
  return hex;
}

inline std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string writeText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace wman::test
