// checkTlsConfig: the TLS part of `wman check`, built on the same context code as workers.
#include "wman/tls.h"

#include <ctime>

#include "detail/tls_context.h"

namespace wman {
namespace {

std::string formatTime(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Checks the validity period of every certificate in one chain file.
bool checkDates(const std::string& path, std::time_t now, std::vector<std::string>* warnings,
                std::string* error) {
  std::vector<detail::CertificateInfo> chain;
  if (!detail::readCertificateInfo(path, &chain, error)) return false;
  const auto warn_window = std::chrono::duration_cast<std::chrono::seconds>(kTlsExpiryWarning);
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const detail::CertificateInfo& c = chain[i];
    const std::string what = "tls certificate " + path +
                             (i == 0 ? "" : " (chain certificate " + std::to_string(i) + ")") +
                             (c.subject.empty() ? "" : " [" + c.subject + "]");
    if (c.not_after <= now) {
      *error = what + " expired on " + formatTime(c.not_after);
      return false;
    }
    if (c.not_after - now < warn_window.count() && warnings) {
      // Rounded to the nearest day: a certificate issued for 10 days says "in 10 days".
      const long days = static_cast<long>((c.not_after - now + 43200) / 86400);
      const std::string when = days == 0   ? "within a day"
                               : days == 1 ? "in 1 day"
                                           : "in " + std::to_string(days) + " days";
      warnings->push_back(what + " expires on " + formatTime(c.not_after) + ", " + when);
    }
    if (c.not_before > now && warnings)
      warnings->push_back(what + " is not valid before " + formatTime(c.not_before));
  }
  return true;
}

}  // namespace

bool checkTlsConfig(const TlsConfig& tls, std::vector<std::string>* warnings, std::string* error,
                    std::chrono::system_clock::time_point now) {
  std::string why;
  if (!detail::TlsContext::createServer(tls, &why)) {
    if (error) *error = why;
    return false;
  }
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::vector<std::string> files = {tls.cert};
  for (const TlsSniCertificate& s : tls.sni) files.push_back(s.cert);
  for (const std::string& f : files) {
    if (!checkDates(f, t, warnings, &why)) {
      if (error) *error = why;
      return false;
    }
  }
  return true;
}

std::optional<std::int64_t> tlsCertificateExpiry(const TlsConfig& tls, std::string* error) {
  std::vector<std::string> files = {tls.cert};
  for (const TlsSniCertificate& s : tls.sni) files.push_back(s.cert);
  std::optional<std::int64_t> first;
  for (const std::string& f : files) {
    std::vector<detail::CertificateInfo> chain;
    std::string why;
    if (!detail::readCertificateInfo(f, &chain, &why)) {
      if (error) *error = why;
      return std::nullopt;
    }
    for (const detail::CertificateInfo& c : chain) {
      const auto t = static_cast<std::int64_t>(c.not_after);
      if (!first || t < *first) first = t;
    }
  }
  return first;
}

}  // namespace wman
