#include "websocket/deflate_negotiation.h"

#include <algorithm>
#include <vector>

#include "wman/http.h"

namespace wman::ws {
namespace {

// RFC 7230 3.2.6 token characters.
bool isTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

struct Param {
  std::string_view name;
  bool has_value = false;
  std::string value;  // unescaped when it was a quoted-string
};

struct Extension {
  std::string_view name;
  std::vector<Param> params;
};

// Parses "extension-list" (RFC 6455 9.1) one element at a time. An element with a syntax
// error is skipped up to the next comma outside a quoted-string, so one bad offer cannot hide
// the good ones after it.
class ExtensionListReader {
 public:
  explicit ExtensionListReader(std::string_view s) : s_(s) {}

  // True once an element was skipped for a syntax error (a client must not accept that).
  bool malformed() const { return malformed_; }

  // The next well-formed element, or nullopt at the end.
  std::optional<Extension> next() {
    while (true) {
      skipSpaceAndCommas();
      if (i_ >= s_.size()) return std::nullopt;
      Extension ext;
      if (readElement(ext)) return ext;
      malformed_ = true;
      skipToComma();
    }
  }

 private:
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void skipSpaceAndCommas() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string_view token() {
    const std::size_t start = i_;
    while (i_ < s_.size() && isTchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  bool quotedString(std::string& out) {
    ++i_;  // opening quote
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        out.push_back(s_[i_++]);
      } else {
        out.push_back(c);
      }
    }
    return false;
  }
  void skipToComma() {
    bool quoted = false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (quoted && c == '\\' && i_ < s_.size()) {
        ++i_;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        return;
      }
    }
  }
  bool readElement(Extension& ext) {
    ext.name = token();
    if (ext.name.empty()) return false;
    while (true) {
      skipSpace();
      if (i_ >= s_.size() || s_[i_] == ',') return true;
      if (s_[i_] != ';') return false;
      ++i_;
      skipSpace();
      Param p;
      p.name = token();
      if (p.name.empty()) return false;
      skipSpace();
      if (i_ < s_.size() && s_[i_] == '=') {
        ++i_;
        skipSpace();
        p.has_value = true;
        if (i_ < s_.size() && s_[i_] == '"') {
          if (!quotedString(p.value)) return false;
        } else {
          p.value = std::string(token());
        }
        if (p.value.empty()) return false;
      }
      ext.params.push_back(std::move(p));
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  bool malformed_ = false;
};

// RFC 7692 7.1.2: "a decimal integer value without leading zeroes between 8 to 15".
std::optional<int> windowBits(std::string_view v) {
  if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
  return std::nullopt;
}

// The agreement for one offer, or nullopt if it has a parameter we cannot honour.
std::optional<DeflateParams> accept(const Extension& offer, const DeflateOptions& options) {
  bool server_nct = false, client_nct = false;
  std::optional<int> server_bits;
  bool client_bits_offered = false;
  std::optional<int> client_bits;

  for (const Param& p : offer.params) {
    if (p.name == "server_no_context_takeover") {
      if (p.has_value || server_nct) return std::nullopt;
      server_nct = true;
    } else if (p.name == "client_no_context_takeover") {
      if (p.has_value || client_nct) return std::nullopt;
      client_nct = true;
    } else if (p.name == "server_max_window_bits") {
      if (!p.has_value || server_bits) return std::nullopt;
      server_bits = windowBits(p.value);
      if (!server_bits) return std::nullopt;
    } else if (p.name == "client_max_window_bits") {
      if (client_bits_offered) return std::nullopt;
      client_bits_offered = true;
      if (p.has_value) {
        client_bits = windowBits(p.value);
        if (!client_bits) return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }

  DeflateParams params;
  // Not taking over context is always possible for us, whoever asks for it.
  params.server_no_context_takeover = server_nct || options.server_no_context_takeover;
  params.client_no_context_takeover = client_nct || options.client_no_context_takeover;
  const int own_bits = std::clamp(options.server_max_window_bits, 8, 15);
  params.server_max_window_bits = server_bits ? std::min(*server_bits, own_bits) : own_bits;
  params.echo_server_max_window_bits = server_bits.has_value();
  // Without client_max_window_bits in the offer the client cannot be limited (7.1.2.2: the
  // response must not name it) and may compress with a 15-bit window. A server configured
  // for a smaller inflate window declines such an offer rather than hold that memory.
  const int own_client_bits = std::clamp(options.client_max_window_bits, 8, 15);
  if (!client_bits_offered && own_client_bits < 15) return std::nullopt;
  if (client_bits_offered) {
    params.client_max_window_bits = std::min(client_bits.value_or(15), own_client_bits);
    params.echo_client_max_window_bits = client_bits.has_value();
  }
  return params;
}

// Client role: reads the parameters of the server's permessage-deflate answer into `params`.
std::string_view readAnswer(const Extension& answer, const DeflateOptions& options,
                            DeflateParams& params) {
  bool server_nct = false, client_nct = false;
  std::optional<int> server_bits, client_bits;
  for (const Param& p : answer.params) {
    bool* flag = p.name == "server_no_context_takeover"   ? &server_nct
                 : p.name == "client_no_context_takeover" ? &client_nct
                                                          : nullptr;
    if (flag != nullptr) {
      if (p.has_value || *flag) return "handshake: bad permessage-deflate parameter";
      *flag = true;
      continue;
    }
    std::optional<int>* bits = p.name == "server_max_window_bits"   ? &server_bits
                               : p.name == "client_max_window_bits" ? &client_bits
                                                                    : nullptr;
    if (bits == nullptr) return "handshake: unknown permessage-deflate parameter";
    // A response must give window bits a value (RFC 7692 7.1.2), and name each once.
    if (!p.has_value || bits->has_value()) return "handshake: bad permessage-deflate parameter";
    *bits = windowBits(p.value);
    if (!*bits) return "handshake: bad permessage-deflate window bits";
  }
  const int asked_server_bits = std::clamp(options.server_max_window_bits, 8, 15);
  if (asked_server_bits < 15 && (!server_bits || *server_bits > asked_server_bits)) {
    return "handshake: server_max_window_bits above what was asked";
  }
  if (options.server_no_context_takeover && !server_nct) {
    return "handshake: server_no_context_takeover not accepted";
  }
  params.server_no_context_takeover = server_nct;
  // We may always reset our own compressor, and promised to when the option is set.
  params.client_no_context_takeover = client_nct || options.client_no_context_takeover;
  params.server_max_window_bits = server_bits.value_or(15);
  params.client_max_window_bits =
      std::min(client_bits.value_or(15), std::clamp(options.client_max_window_bits, 8, 15));
  return {};
}

}  // namespace

std::string deflateOffer(const DeflateOptions& options) {
  std::string s = "permessage-deflate";
  if (options.server_no_context_takeover) s += "; server_no_context_takeover";
  if (options.client_no_context_takeover) s += "; client_no_context_takeover";
  const int server_bits = std::clamp(options.server_max_window_bits, 8, 15);
  if (server_bits < 15) s += "; server_max_window_bits=" + std::to_string(server_bits);
  const int client_bits = std::clamp(options.client_max_window_bits, 8, 15);
  s += "; client_max_window_bits";
  if (client_bits < 15) s += "=" + std::to_string(client_bits);
  return s;
}

DeflateAcceptance acceptDeflateResponse(std::span<const std::string_view> header_values,
                                        const DeflateOptions& options, bool offered) {
  DeflateAcceptance result;
  for (std::string_view value : header_values) {
    ExtensionListReader reader(value);
    while (std::optional<Extension> ext = reader.next()) {
      // RFC 6455 4.1 (item 6 of the response checks): only extensions the client offered.
      if (!offered || !equalsIgnoreCase(ext->name, "permessage-deflate")) {
        return {std::nullopt, "handshake: server accepted an extension not offered"};
      }
      if (result.params) return {std::nullopt, "handshake: permessage-deflate accepted twice"};
      DeflateParams params;
      const std::string_view error = readAnswer(*ext, options, params);
      if (!error.empty()) return {std::nullopt, error};
      result.params = params;
    }
    if (reader.malformed()) return {std::nullopt, "handshake: malformed Sec-WebSocket-Extensions"};
  }
  return result;
}

std::string DeflateParams::responseHeader() const {
  std::string s = "permessage-deflate";
  if (server_no_context_takeover) s += "; server_no_context_takeover";
  if (client_no_context_takeover) s += "; client_no_context_takeover";
  // 15 is what both sides assume without the parameter, so it is written only when smaller or
  // echoed (a client_max_window_bits response is only valid when the offer had the parameter,
  // and a value below 15 only comes from such an offer).
  if (server_max_window_bits < 15 || echo_server_max_window_bits) {
    s += "; server_max_window_bits=" + std::to_string(server_max_window_bits);
  }
  if (client_max_window_bits < 15 || echo_client_max_window_bits) {
    s += "; client_max_window_bits=" + std::to_string(client_max_window_bits);
  }
  return s;
}

std::optional<DeflateParams> negotiateDeflate(std::span<const std::string_view> header_values,
                                              const DeflateOptions& options) {
  for (std::string_view value : header_values) {
    ExtensionListReader reader(value);
    while (std::optional<Extension> ext = reader.next()) {
      if (!equalsIgnoreCase(ext->name, "permessage-deflate")) continue;
      if (std::optional<DeflateParams> params = accept(*ext, options)) return params;
    }
  }
  return std::nullopt;
}

}  // namespace wman::ws
