// TlsSession over a custom BIO. OpenSSL's memory BIOs keep their largest buffer forever; this
// BIO reads straight from the session's input string and appends to its output string, so an
// idle session owns nothing but the SSL object.
#include "detail/tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

namespace wman::detail {

// The BIO callbacks, befriended by TlsSession. The BIO's data pointer is the session.
struct TlsSessionBio {
  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static int read(BIO* bio, char* out, std::size_t cap, std::size_t* got) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    const std::size_t n = std::min(cap, s->in_.size() - s->in_pos_);
    if (n == 0) {
      // No EOF: the peer may send more. OpenSSL reports SSL_ERROR_WANT_READ.
      BIO_set_retry_read(bio);
      *got = 0;
      return 0;
    }
    std::memcpy(out, s->in_.data() + s->in_pos_, n);
    s->in_pos_ += n;
    *got = n;
    return 1;
  }

  static int write(BIO* bio, const char* data, std::size_t n, std::size_t* written) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    s->out_.append(data, n);
    *written = n;
    return 1;
  }

  static long ctrl(BIO* bio, int cmd, long, void*) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(bio));
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_PENDING:
        return static_cast<long>(s->bufferedInput());
      default:
        return 0;
    }
  }

  // One method table for the process; OpenSSL keeps a pointer to it in every BIO.
  static const BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wman tls session");
      BIO_meth_set_create(bm, create);
      BIO_meth_set_read_ex(bm, read);
      BIO_meth_set_write_ex(bm, write);
      BIO_meth_set_ctrl(bm, ctrl);
      return bm;
    }();
    return m;
  }
};

TlsSession::TlsSession(std::shared_ptr<TlsContext> context) : context_(std::move(context)) {
  ssl_ = SSL_new(context_->native());
  BIO* bio = ssl_ ? BIO_new(TlsSessionBio::method()) : nullptr;
  if (!bio) {
    fail(SSL_ERROR_SSL);
    return;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one reference serves both directions
  if (context_->isServer()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  // The name to verify comes with the context's verify parameters; only SNI is per session.
  const std::string& name = context_->serverName();
  if (!name.empty()) SSL_set_tlsext_host_name(ssl_, name.c_str());
  if (SSL_SESSION* cached = context_->cachedSession()) SSL_set_session(ssl_, cached);
  // Produce the ClientHello now so the caller can send it.
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r != 1 && SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ) fail(SSL_get_error(ssl_, r));
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);
}

void TlsSession::feed(const char* data, std::size_t n) {
  if (state_ == State::Closed || state_ == State::Failed || n == 0) return;
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(data, n);
}

std::ptrdiff_t TlsSession::read(char* buf, std::size_t cap) {
  if (state_ == State::Closed || state_ == State::Failed) return -1;
  ERR_clear_error();
  if (state_ == State::Handshaking) {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        releaseInput();
        return 0;
      }
      fail(e);
      return -1;
    }
    state_ = State::Open;
    if (!pending_.empty()) {
      std::string early;
      early.swap(pending_);
      if (!encrypt(early)) return -1;
    }
  }
  std::size_t total = 0;
  while (total < cap) {
    std::size_t got = 0;
    const int r = SSL_read_ex(ssl_, buf + total, cap - total, &got);
    if (r == 1) {
      total += got;
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      // The peer's close_notify: answer with ours, as TLS expects before the socket closes.
      ERR_clear_error();
      SSL_shutdown(ssl_);
      ERR_clear_error();
      state_ = State::Closed;
      break;
    }
    fail(e);
    break;
  }
  releaseInput();
  if (total > 0) return static_cast<std::ptrdiff_t>(total);
  return state_ == State::Open ? 0 : -1;
}

bool TlsSession::write(std::string_view plain) {
  if (state_ == State::Handshaking) {
    pending_.append(plain);
    return true;
  }
  if (state_ != State::Open) return false;
  return encrypt(plain);
}

bool TlsSession::encrypt(std::string_view plain) {
  ERR_clear_error();
  // The BIO never refuses bytes, so SSL_write_ex takes everything at once (split into
  // records of at most 16 KiB).
  while (!plain.empty()) {
    std::size_t written = 0;
    const int r = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
    if (r != 1) {
      fail(SSL_get_error(ssl_, r));
      return false;
    }
    plain.remove_prefix(written);
  }
  return true;
}

void TlsSession::takeOutput(std::string& wire) {
  if (out_.empty()) return;
  if (wire.empty()) {
    wire = std::move(out_);
  } else {
    wire.append(out_);
  }
  out_ = std::string();
}

void TlsSession::shutdown() {
  if (state_ == State::Open) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  if (state_ != State::Failed) state_ = State::Closed;
  // A handshake abandoned halfway has nothing worth a close_notify.
  std::string().swap(pending_);
}

bool TlsSession::handshakeDone() const {
  return ssl_ && SSL_is_init_finished(ssl_);
}

std::string_view TlsSession::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  if (ssl_) SSL_get0_alpn_selected(ssl_, &data, &length);
  return data ? std::string_view(reinterpret_cast<const char*>(data), length) : std::string_view();
}

std::string_view TlsSession::serverName() const {
  const char* name = ssl_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
  return name ? std::string_view(name) : std::string_view();
}

std::string_view TlsSession::protocol() const {
  return handshakeDone() ? std::string_view(SSL_get_version(ssl_)) : std::string_view();
}

std::string_view TlsSession::cipher() const {
  const char* name = handshakeDone() ? SSL_get_cipher_name(ssl_) : nullptr;
  return name ? std::string_view(name) : std::string_view();
}

bool TlsSession::resumed() const {
  return ssl_ && SSL_session_reused(ssl_) == 1;
}

std::string TlsSession::peerSubject() const {
  X509* cert = ssl_ ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (!cert) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return {};
  std::string out;
  if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<std::size_t>(n));
  }
  BIO_free(bio);
  return out;
}

std::string TlsSession::peerFingerprint() const {
  X509* cert = ssl_ ? SSL_get0_peer_certificate(ssl_) : nullptr;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), digest, &length) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

void TlsSession::fail(int ssl_error) {
  state_ = State::Failed;
  std::string why =
      takeOpensslError(ssl_error == SSL_ERROR_SYSCALL ? "unexpected end of input" : "TLS error",
                       /*prefer_ssl=*/true);
  if (ssl_) {
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK && why == "certificate verify failed")
      why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  }
  error_ = std::make_unique<std::string>(std::move(why));
  std::string().swap(pending_);
  std::string().swap(in_);
  in_pos_ = 0;
}

void TlsSession::releaseInput() {
  if (in_pos_ < in_.size()) return;
  std::string().swap(in_);
  in_pos_ = 0;
}

}  // namespace wman::detail
