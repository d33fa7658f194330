// TLS checks that need no running worker: `wman check` and `wman reload` run them so that a
// bad certificate is reported before any worker depends on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wman/config.h"

namespace wman {

// Certificates that expire sooner than this draw a warning from checkTlsConfig().
inline constexpr std::chrono::hours kTlsExpiryWarning{24 * 30};

// Builds the server TLS context a worker would build from `tls` and checks every certificate
// (default and SNI, chains included) against `now`. Returns false with a one-line reason in
// *error when a worker could not serve it: unreadable or malformed files, a key that does not
// match its certificate, a chain in the wrong order, a cipher string that selects nothing, or
// an expired certificate. Appends a warning naming the file and date for each certificate
// that expires within kTlsExpiryWarning or is not valid yet. Safe to call in any process.
bool checkTlsConfig(const TlsConfig& tls, std::vector<std::string>* warnings, std::string* error,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// The earliest end of validity (notAfter, seconds since the epoch) among the certificates
// `tls` serves (default and SNI, chains included): when the first of them expires. nullopt,
// with the reason in *error, when a file cannot be read. Reads the files; call it when a
// config is loaded, not per request.
std::optional<std::int64_t> tlsCertificateExpiry(const TlsConfig& tls,
                                                 std::string* error = nullptr);

// Draws fresh random session-ticket keys for every TLS server context built afterwards in
// this process and in the processes it forks. The master calls it before forking each
// generation of workers, so a client resumes its session on any worker of that generation;
// the next reload rotates the keys. Without it each context has keys of its own.
void rotateTlsTicketKeys();

}  // namespace wman
