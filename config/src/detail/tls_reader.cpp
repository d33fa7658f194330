// [worker.tls] and its [[worker.tls.sni]] entries.
#include "detail/tls_reader.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace wman::detail {
namespace {

// TLS 1.0 and 1.1 get their own message: asking for them is a deliberate choice that wman
// refuses, not a typo.
void readMinVersion(FieldReader& r, std::string_view key, const toml::node& node,
                    std::string& out) {
  if (const auto* s = node.as_string(); s && (s->get() == "1.0" || s->get() == "1.1")) {
    r.error(node.source(), std::string(key) + " " + quote(s->get()) +
                               ": TLS 1.0 and 1.1 are not supported (use \"1.2\" or \"1.3\")");
    return;
  }
  asOneOf(&out, {"1.2", "1.3"})(r, key, node);
}

// A DNS name as sent in SNI ("api.example.com"), or "*." followed by one, which matches
// exactly one more label.
bool validServerName(std::string_view name) {
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63) return false;
      label = 0;
      continue;
    }
    const char c = name[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    ++label;
  }
  return true;
}

bool sameServerName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// One [[worker.tls.sni]] table; `lines` holds where each entry already in `out` starts.
void readSniEntry(FieldReader& r, const toml::table& t, std::vector<TlsSniCertificate>& out,
                  std::vector<int>& lines) {
  TlsSniCertificate sni;
  r.readFields(t, "[[worker.tls.sni]]",
               {
                   {"server_name", asString(&sni.server_name)},
                   {"cert", asPath(&sni.cert)},
                   {"key", asPath(&sni.key)},
               });
  bool ok = true;
  const std::pair<const char*, const char*> required[] = {
      {"server_name", "server_name = \"api.example.com\""},
      {"cert", "cert = \"/etc/wman/tls/api.pem\""},
      {"key", "key = \"/etc/wman/tls/api.key\""}};
  for (const auto& [key, example] : required) {
    if (t.contains(key)) continue;
    r.error(t.source(), std::string("missing required key '") + key +
                            "' in [[worker.tls.sni]] (e.g. " + example + ")");
    ok = false;
  }
  if (const toml::node* n = t.get("server_name"); n && !sni.server_name.empty()) {
    if (!validServerName(sni.server_name)) {
      r.error(n->source(), "invalid server_name " + quote(sni.server_name) +
                               " (a host name like \"api.example.com\" or a wildcard like "
                               "\"*.example.com\")");
      ok = false;
    } else {
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (!sameServerName(out[i].server_name, sni.server_name)) continue;
        r.error(n->source(), "duplicate server_name " + quote(sni.server_name) +
                                 " (first used at line " + std::to_string(lines[i]) + ")");
        ok = false;
        break;
      }
    }
  }
  const std::pair<const char*, const std::string*> files[] = {{"cert", &sni.cert},
                                                              {"key", &sni.key}};
  for (const auto& [key, path] : files) {
    if (const toml::node* n = t.get(key); n && !path->empty())
      r.requireReadableFile(*n, std::string("tls sni ") + key, *path);
  }
  if (ok && !sni.server_name.empty() && !sni.cert.empty() && !sni.key.empty()) {
    out.push_back(std::move(sni));
    lines.push_back(static_cast<int>(t.source().begin.line));
  }
}

void readSni(FieldReader& r, std::string_view key, const toml::node& node,
             std::vector<TlsSniCertificate>& out) {
  const auto* array = node.as_array();
  if (!array) {
    r.error(node.source(),
            std::string(key) + " must be an array of tables ([[worker.tls.sni]]), got " +
                std::string(typeName(node)) +
                (node.is_table() ? "; write [[worker.tls.sni]], not [worker.tls.sni]" : ""));
    return;
  }
  std::vector<int> lines;
  for (const toml::node& item : *array) {
    if (const auto* t = item.as_table()) {
      readSniEntry(r, *t, out, lines);
    } else {
      r.error(item.source(), "each sni entry must be a table ([[worker.tls.sni]]), got " +
                                 std::string(typeName(item)));
    }
  }
}

}  // namespace

void readTls(FieldReader& r, const toml::table& t, TlsConfig& tls) {
  r.readFields(t, "[worker.tls]",
               {
                   {"cert", asPath(&tls.cert)},
                   {"key", asPath(&tls.key)},
                   {"ca", asPath(&tls.ca, /*allow_empty=*/true)},
                   {"min_version",
                    [&tls](FieldReader& fr, std::string_view key, const toml::node& node) {
                      readMinVersion(fr, key, node, tls.min_version);
                    }},
                   {"verify_client", asBool(&tls.verify_client)},
                   {"ciphers", asString(&tls.ciphers, /*allow_empty=*/true)},
                   {"ciphersuites", asString(&tls.ciphersuites, /*allow_empty=*/true)},
                   // RFC 7301: a protocol name is 1 to 255 bytes.
                   {"alpn", asStringArray(&tls.alpn, 255)},
                   {"sni", [&tls](FieldReader& fr, std::string_view key,
                                  const toml::node& node) { readSni(fr, key, node, tls.sni); }},
               });
  // Judged by the keys written, not the values read, so a mistyped cert is one error, not two.
  if (t.contains("cert") != t.contains("key"))
    r.error(t.source(), "[worker.tls] needs both cert and key");
  const toml::node* verify = t.get("verify_client");
  const toml::node* ca = t.get("ca");
  // A ca of the wrong type already has its own error.
  if (verify && tls.verify_client && tls.ca.empty() && (!ca || ca->is_string())) {
    r.error(verify->source(),
            "verify_client = true needs ca (the PEM bundle of the CAs that sign client "
            "certificates)");
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"cert", &tls.cert}, {"key", &tls.key}, {"ca", &tls.ca}};
  for (const auto& [key, path] : files) {
    if (const toml::node* n = t.get(key); n && !path->empty())
      r.requireReadableFile(*n, std::string("tls ") + key, *path);
  }
}

}  // namespace wman::detail
