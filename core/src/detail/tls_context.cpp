// SSL_CTX construction. A server gets one SSL_CTX per certificate (the default plus one per
// SNI entry), all built by the same function so that switching a handshake to an SNI context
// changes the certificate and nothing else.
#include "detail/tls_context.h"

#include <arpa/inet.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "wman/tls.h"

namespace wman::detail {
namespace {

// Forward secrecy and AEAD only, as the Mozilla "intermediate" profile; ECDSA and RSA
// certificates both work. TLS 1.3 suites are configured separately.
constexpr const char* kDefaultCiphers = "ECDHE+AESGCM:ECDHE+CHACHA20";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads a whole file; on failure *why is the errno text.
bool readFile(const std::string& path, std::string* out, std::string* why) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *why = std::strerror(errno);
    return false;
  }
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int saved = errno;
  std::fclose(f);
  if (failed) *why = std::strerror(saved);
  return !failed;
}

// A key file is never allowed to prompt on the terminal for a passphrase.
int noPassphrase(char*, int, int, void*) {
  return -1;
}

KeyPtr readKey(const std::string& path, std::string* error) {
  std::string pem;
  std::string why;
  if (!readFile(path, &pem, &why)) {
    *error = "cannot read private key " + path + ": " + why;
    return nullptr;
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ERR_clear_error();
  KeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
  if (!key) {
    if (pem.find("ENCRYPTED") != std::string::npos) {
      why = "the key is encrypted; wman needs an unencrypted key";
    } else if (pem.find("PRIVATE KEY-----") == std::string::npos) {
      why = "no PEM private key found";
    } else {
      why = takeOpensslError("no PEM private key found");
    }
    *error = "cannot read private key " + path + ": " + why;
  }
  ERR_clear_error();
  OPENSSL_cleanse(pem.data(), pem.size());
  return key;
}

// Every certificate of a PEM file, in file order.
bool readCertificates(const std::string& path, std::vector<X509Ptr>* out, std::string* error) {
  std::string pem;
  std::string why;
  if (!readFile(path, &pem, &why)) {
    *error = "cannot read certificate " + path + ": " + why;
    return false;
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ERR_clear_error();
  while (bio) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!cert) break;
    out->emplace_back(cert);
  }
  // Running out of PEM blocks ends the loop with "no start line"; anything else is damage.
  const unsigned long last = ERR_peek_last_error();
  const bool clean_end = last == 0 || (ERR_GET_LIB(last) == ERR_LIB_PEM &&
                                       ERR_GET_REASON(last) == PEM_R_NO_START_LINE);
  if (!clean_end) {
    *error = "cannot read certificate " + path + ": " + takeOpensslError();
    return false;
  }
  ERR_clear_error();
  if (out->empty()) {
    *error = "cannot read certificate " + path + ": no PEM certificate found";
    return false;
  }
  return true;
}

// Installs the chain in `cert_path` (leaf first) and the key in `key_path`.
bool useCertificate(SSL_CTX* ctx, const std::string& cert_path, const std::string& key_path,
                    std::string* error) {
  std::vector<X509Ptr> chain;
  if (!readCertificates(cert_path, &chain, error)) return false;
  KeyPtr key = readKey(key_path, error);
  if (!key) return false;
  if (X509_check_private_key(chain[0].get(), key.get()) != 1) {
    ERR_clear_error();
    for (std::size_t i = 1; i < chain.size(); ++i) {
      if (X509_check_private_key(chain[i].get(), key.get()) == 1) {
        *error = "certificate chain " + cert_path +
                 " is in the wrong order: the certificate for key " + key_path + " must come first";
        ERR_clear_error();
        return false;
      }
    }
    ERR_clear_error();
    *error = "tls key " + key_path + " does not match certificate " + cert_path;
    return false;
  }
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    *error = "cannot use certificate " + cert_path + ": " + takeOpensslError();
    return false;
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      *error = "cannot use certificate chain " + cert_path + ": " + takeOpensslError();
      return false;
    }
  }
  return true;
}

int protocolVersion(const std::string& version) {
  return version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// {"h2", "http/1.1"} -> "\x02h2\x08http/1.1" (RFC 7301 ProtocolNameList).
bool encodeAlpn(const std::vector<std::string>& protocols, std::string* wire, std::string* error) {
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      *error = "invalid alpn protocol '" + p + "' (1 to 255 bytes)";
      return false;
    }
    wire->push_back(static_cast<char>(p.size()));
    wire->append(p);
  }
  return true;
}

int selectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void* arg) {
  const std::string& wire = static_cast<const TlsContext*>(arg)->alpnWire();
  unsigned char* chosen = nullptr;
  unsigned char chosen_len = 0;
  // Server preference order. RFC 7301 section 3.2: no common protocol is a fatal
  // no_application_protocol alert, not a silent fallback.
  if (SSL_select_next_proto(
          &chosen, &chosen_len, reinterpret_cast<const unsigned char*>(wire.data()),
          static_cast<unsigned int>(wire.size()), in, in_len) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  *out_len = chosen_len;
  return SSL_TLSEXT_ERR_OK;
}

int selectCertificate(SSL* ssl, int* alert, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  if (SSL_CTX* ctx = static_cast<const TlsContext*>(arg)->contextFor(name)) {
    if (!SSL_set_SSL_CTX(ssl, ctx)) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

int storeClientSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  self->cacheSession(session);
  return 1;  // we own the reference now
}

// Session-ticket keys shared by the server contexts of one generation of workers (see
// rotateTlsTicketKeys): name, HMAC secret and AES key, as OpenSSL's ticket callback expects.
struct TicketKeys {
  unsigned char bytes[80];
  bool set = false;
};
TicketKeys& ticketKeys() {
  static TicketKeys keys;
  return keys;
}

// Resumed sessions must come from a context with the same certificates and client checks;
// OpenSSL also refuses to resume client-verified sessions without an id context.
void setSessionIdContext(SSL_CTX* ctx, const TlsConfig& config) {
  std::string material = "wman\n" + config.cert + "\n" + config.key + "\n" + config.ca + "\n" +
                         (config.verify_client ? "verify" : "") + "\n";
  for (const TlsSniCertificate& s : config.sni) material += s.server_name + "\n" + s.cert + "\n";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(material.data(), material.size(), digest, &length, EVP_sha256(), nullptr);
  SSL_CTX_set_session_id_context(ctx, digest, std::min(length, unsigned{SSL_MAX_SID_CTX_LENGTH}));
}

// One server SSL_CTX with the shared policy and the certificate `cert`/`key`.
CtxPtr newServerContext(const TlsConfig& config, const std::string& cert, const std::string& key,
                        TlsContext* owner, std::string* error) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    *error = "cannot create a TLS context: " + takeOpensslError();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), protocolVersion(config.min_version));
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                     SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_COMPRESSION);
  // Idle connections give their 16 KiB record buffers back; the cost is a malloc per burst.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_dh_auto(ctx.get(), 1);
  if (const TicketKeys& keys = ticketKeys(); keys.set) {
    SSL_CTX_set_tlsext_ticket_keys(ctx.get(), const_cast<unsigned char*>(keys.bytes),
                                   sizeof keys.bytes);
  }

  const std::string ciphers = config.ciphers.empty() ? kDefaultCiphers : config.ciphers;
  if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1) {
    *error = "invalid ciphers '" + ciphers + "': " + takeOpensslError();
    return nullptr;
  }
  if (!config.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx.get(), config.ciphersuites.c_str()) != 1) {
    *error = "invalid ciphersuites '" + config.ciphersuites + "': " + takeOpensslError();
    return nullptr;
  }
  if (!useCertificate(ctx.get(), cert, key, error)) return nullptr;

  if (!config.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), config.ca.c_str(), nullptr) != 1) {
      *error = "cannot read CA bundle " + config.ca + ": " + takeOpensslError();
      return nullptr;
    }
    // The CertificateRequest names these CAs so clients pick a matching certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.ca.c_str()))
      SSL_CTX_set_client_CA_list(ctx.get(), names);
    ERR_clear_error();
    SSL_CTX_set_verify(
        ctx.get(), SSL_VERIFY_PEER | (config.verify_client ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
        nullptr);
  }
  setSessionIdContext(ctx.get(), config);
  if (!owner->alpnWire().empty()) SSL_CTX_set_alpn_select_cb(ctx.get(), selectAlpn, owner);
  return ctx;
}

// The URL host as TLS sees it: what the certificate must name, and whether that is an
// address (matched against IP subjectAltNames) or a DNS name.
struct PeerName {
  std::string check;
  bool is_ip = false;
};

// "[::1]" and "::1" are the same address, "example.com." and "example.com" the same name.
// A zone ("fe80::1%eth0") names a local interface, not something a certificate can hold.
PeerName parsePeerName(std::string_view name) {
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  PeerName peer;
  if (name.find(':') != std::string_view::npos) {
    peer.check = std::string(name.substr(0, name.find('%')));
    peer.is_ip = true;
    return peer;
  }
  peer.check = std::string(name);
  unsigned char v4[4];
  peer.is_ip = inet_pton(AF_INET, peer.check.c_str(), v4) == 1;
  if (!peer.is_ip && !peer.check.empty() && peer.check.back() == '.') peer.check.pop_back();
  return peer;
}

// Trust anchors and the expected name for a verifying client context. The name goes into the
// context's verify parameters, which SSL_new copies, so every session checks it. OpenSSL 3.0's
// SSL_set1_host treats "127.0.0.1" as a DNS name and never matches an IP subjectAltName,
// hence the separate address check.
bool setVerification(SSL_CTX* ctx, const TlsClientOptions& options, const PeerName& peer,
                     std::string* error) {
  if (!options.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return true;
  }
  if (peer.check.empty()) {
    *error = "TLS verification needs a server name";
    return false;
  }
  if (options.ca.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      *error = "cannot load the system CA store: " + takeOpensslError();
      return false;
    }
  } else if (SSL_CTX_load_verify_locations(ctx, options.ca.c_str(), nullptr) != 1) {
    *error = "cannot read CA bundle " + options.ca + ": " + takeOpensslError();
    return false;
  }
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  // "f*.example.com" is not a wildcard any public CA may issue; browsers refuse it too.
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int named = peer.is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, peer.check.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, peer.check.c_str(), 0);
  if (named != 1) {
    ERR_clear_error();
    *error = "invalid server name '" + options.server_name + "': not a DNS name or IP address";
    return false;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return true;
}

}  // namespace

std::shared_ptr<TlsContext> TlsContext::createServer(const TlsConfig& config, std::string* error) {
  std::shared_ptr<TlsContext> self(new TlsContext);
  self->server_ = true;
  if (config.cert.empty() || config.key.empty()) {
    *error = "TLS needs a certificate and a key";
    return nullptr;
  }
  if (!encodeAlpn(config.alpn, &self->alpn_wire_, error)) return nullptr;
  CtxPtr ctx = newServerContext(config, config.cert, config.key, self.get(), error);
  if (!ctx) return nullptr;
  for (const TlsSniCertificate& sni : config.sni) {
    CtxPtr extra = newServerContext(config, sni.cert, sni.key, self.get(), error);
    if (!extra) return nullptr;
    self->sni_.push_back({lower(sni.server_name), extra.release()});
  }
  if (!self->sni_.empty()) {
    SSL_CTX_set_tlsext_servername_callback(ctx.get(), selectCertificate);
    SSL_CTX_set_tlsext_servername_arg(ctx.get(), self.get());
  }
  self->ctx_ = ctx.release();
  return self;
}

std::shared_ptr<TlsContext> TlsContext::createClient(const TlsClientOptions& options,
                                                     std::string* error) {
  std::shared_ptr<TlsContext> self(new TlsContext);
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    *error = "cannot create a TLS context: " + takeOpensslError();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), protocolVersion(options.min_version));
  if (!options.max_version.empty())
    SSL_CTX_set_max_proto_version(ctx.get(), protocolVersion(options.max_version));
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  const PeerName peer = parsePeerName(options.server_name);
  if (!setVerification(ctx.get(), options, peer, error)) return nullptr;
  self->verify_peer_ = options.verify;
  // RFC 6066 section 3: SNI carries DNS names only, never an address literal.
  if (!peer.is_ip) self->server_name_ = peer.check;
  if (!options.cert.empty() && !useCertificate(ctx.get(), options.cert, options.key, error))
    return nullptr;
  if (!encodeAlpn(options.alpn, &self->alpn_wire_, error)) return nullptr;
  if (!self->alpn_wire_.empty() &&
      SSL_CTX_set_alpn_protos(ctx.get(),
                              reinterpret_cast<const unsigned char*>(self->alpn_wire_.data()),
                              static_cast<unsigned int>(self->alpn_wire_.size())) != 0) {
    *error = "cannot set alpn: " + takeOpensslError();
    return nullptr;
  }
  if (options.reuse_sessions) {
    SSL_CTX_set_session_cache_mode(ctx.get(),
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx.get(), storeClientSession);
    SSL_CTX_set_app_data(ctx.get(), self.get());
  }
  self->ctx_ = ctx.release();
  return self;
}

TlsContext::~TlsContext() {
  SSL_SESSION_free(cached_session_);
  for (SniContext& s : sni_) SSL_CTX_free(s.ctx);
  SSL_CTX_free(ctx_);
}

ssl_ctx_st* TlsContext::contextFor(std::string_view server_name) const {
  if (sni_.empty()) return nullptr;
  const std::string name = lower(server_name);
  for (const SniContext& s : sni_) {
    if (s.name == name) return s.ctx;
  }
  // "*.example.com" covers "a.example.com" only: one label, as browsers match wildcards.
  const std::size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return nullptr;
  const std::string wildcard = "*" + name.substr(dot);
  for (const SniContext& s : sni_) {
    if (s.name == wildcard) return s.ctx;
  }
  return nullptr;
}

void TlsContext::cacheSession(ssl_session_st* session) {
  SSL_SESSION_free(cached_session_);
  cached_session_ = session;
}

bool readCertificateInfo(const std::string& path, std::vector<CertificateInfo>* out,
                         std::string* error) {
  std::vector<X509Ptr> chain;
  if (!readCertificates(path, &chain, error)) return false;
  for (const X509Ptr& cert : chain) {
    CertificateInfo info;
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (bio &&
        X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio.get(), &data);
      if (n > 0) info.subject.assign(data, static_cast<std::size_t>(n));
    }
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notBefore(cert.get()), &tm) == 1) info.not_before = timegm(&tm);
    tm = {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) == 1) info.not_after = timegm(&tm);
    out->push_back(std::move(info));
  }
  ERR_clear_error();
  return true;
}

std::string takeOpensslError(std::string_view fallback, bool prefer_ssl) {
  unsigned long chosen = 0;
  while (const unsigned long e = ERR_get_error()) {
    if (chosen == 0) chosen = e;
    if (prefer_ssl && ERR_GET_LIB(e) == ERR_LIB_SSL) {
      chosen = e;
      break;
    }
  }
  ERR_clear_error();
  if (chosen == 0) return std::string(fallback);
  if (const char* reason = ERR_reason_error_string(chosen)) return reason;
  char buf[256];
  ERR_error_string_n(chosen, buf, sizeof buf);
  return buf;
}

void setTicketKeys(bool fresh) {
  TicketKeys& keys = ticketKeys();
  keys.set = fresh && RAND_bytes(keys.bytes, sizeof keys.bytes) == 1;
}

}  // namespace wman::detail

namespace wman {

void rotateTlsTicketKeys() {
  detail::setTicketKeys(true);
}

}  // namespace wman
