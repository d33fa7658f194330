// The TLS policy shared by every connection of one listener (certificates and keys with SNI
// alternatives, versions, ciphers, ALPN, client-certificate checks), or by the outbound
// connections of one client (trust anchors, the server name to verify). Wraps OpenSSL's
// SSL_CTX; OpenSSL types stay out of this header so connection code need not include them.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wman/config.h"

struct ssl_ctx_st;
struct ssl_session_st;

namespace wman::detail {

// How a client context behaves. Outbound connections verify by default: turning `verify` off
// is the caller's explicit choice (and its job to log), never the result of a missing field.
struct TlsClientOptions {
  bool verify = true;               // check the server's chain and name; false = check nothing
  std::string ca;                   // PEM bundle to trust ("" = the system store) when verifying
  std::string server_name;          // the URL host: a DNS name, or an IPv4/IPv6 literal ("[::1]"
                                    // too); required when verifying. Sent as SNI unless a literal.
  std::vector<std::string> alpn;    // protocols to offer, in preference order
  std::string cert;                 // client certificate chain ("" = none)
  std::string key;                  // its private key
  std::string min_version = "1.2";  // "1.2" or "1.3"
  std::string max_version;          // "" = the newest OpenSSL speaks; "1.2" caps at TLS 1.2
  bool reuse_sessions = false;      // keep the latest session and offer it on the next connect
};

class TlsContext {
 public:
  // Builds the server context for a [worker.tls] table. Returns nullptr and sets *error to a
  // sentence naming the file at fault ("tls key /x/key.pem does not match certificate
  // /x/cert.pem") when a file cannot be read, a key does not match, a cipher string selects
  // nothing, and so on. Never enables anything below TLS 1.2.
  static std::shared_ptr<TlsContext> createServer(const TlsConfig& config, std::string* error);

  // Builds a client context. Returns nullptr and sets *error on failure: a file that cannot
  // be read, an invalid ALPN name, or verify on without a server_name ("TLS verification
  // needs a server name"). Sessions of a verifying context fail their handshake with
  // "certificate verify failed (<reason>)" when the chain or the name does not check out.
  static std::shared_ptr<TlsContext> createClient(const TlsClientOptions& options,
                                                  std::string* error);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool isServer() const { return server_; }

  // The SSL_CTX new sessions start from. Owned by this object.
  ssl_ctx_st* native() const { return ctx_; }

  // The context serving `server_name` (a client's SNI name, any case): an exact entry first,
  // then a "*.parent" wildcard for one label; nullptr when the default certificate applies.
  ssl_ctx_st* contextFor(std::string_view server_name) const;

  // The configured ALPN list in wire format (length-prefixed names), "" when ALPN is off.
  const std::string& alpnWire() const { return alpn_wire_; }

  // Client contexts: the SNI name sessions send ("" for an IP literal: RFC 6066 section 3
  // allows DNS names only), and whether the server's chain and name are checked.
  const std::string& serverName() const { return server_name_; }
  bool verifiesPeer() const { return verify_peer_; }

  // Client contexts with reuse_sessions: the session to offer next (nullptr = none yet), and
  // where a newly issued one is stored. Takes ownership of `session`.
  ssl_session_st* cachedSession() const { return cached_session_; }
  void cacheSession(ssl_session_st* session);

 private:
  TlsContext() = default;

  struct SniContext {
    std::string name;  // lower case, "*.example.com" for wildcards
    ssl_ctx_st* ctx = nullptr;
  };

  ssl_ctx_st* ctx_ = nullptr;
  bool server_ = false;
  bool verify_peer_ = false;
  std::vector<SniContext> sni_;
  std::string alpn_wire_;
  std::string server_name_;
  ssl_session_st* cached_session_ = nullptr;
};

// What `wman check` reports about one certificate of a PEM file.
struct CertificateInfo {
  std::string subject;  // RFC 2253 form, e.g. "CN=localhost,O=wman test"
  std::time_t not_before = 0;
  std::time_t not_after = 0;
};

// Reads every certificate in the PEM file at `path`, leaf first. Returns false and sets
// *error when the file cannot be read or holds no certificate.
bool readCertificateInfo(const std::string& path, std::vector<CertificateInfo>* out,
                         std::string* error);

// The reason of the oldest error in this thread's OpenSSL error queue ("No such file or
// directory"), or `fallback` when the queue is empty. With `prefer_ssl`, the oldest error
// raised by the TLS library itself wins ("decryption failed or bad record mac" rather than
// the cipher provider's "cipher operation failed" beneath it). Clears the queue.
std::string takeOpensslError(std::string_view fallback = "unknown error", bool prefer_ssl = false);

// rotateTlsTicketKeys() (fresh = true), or back to one key per context (false, for tests).
void setTicketKeys(bool fresh);

}  // namespace wman::detail
