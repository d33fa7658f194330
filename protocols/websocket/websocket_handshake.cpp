#include "websocket/websocket_handshake.h"

#include "websocket/base64.h"
#include "websocket/sha1.h"
#include "wman/http.h"

namespace wman::ws {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

UpgradeCheck reject(int status, std::string_view reason) {
  return {status, reason};
}

}  // namespace

std::string acceptKey(std::string_view key) {
  Sha1 sha;
  sha.update(key);
  sha.update("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");  // RFC 6455 1.3
  const Sha1::Digest d = sha.digest();
  std::string out;
  base64Encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()), out);
  return out;
}

std::vector<std::string_view> headerValues(const HandshakeRequest& request, std::string_view name) {
  std::vector<std::string_view> values;
  for (const auto& [key, value] : request.headers) {
    if (equalsIgnoreCase(key, name)) values.push_back(value);
  }
  return values;
}

bool headerListHas(const HandshakeRequest& request, std::string_view name, std::string_view token,
                   bool case_sensitive) {
  for (const auto& [key, value] : request.headers) {
    if (!equalsIgnoreCase(key, name)) continue;
    std::string_view rest = value;
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (case_sensitive ? item == token : equalsIgnoreCase(item, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

UpgradeCheck validateUpgrade(const HandshakeRequest& request, int http_major, int http_minor) {
  if (request.method != "GET") return reject(405, "WebSocket handshake must use GET");
  if (http_major < 1 || (http_major == 1 && http_minor < 1)) {
    return reject(400, "WebSocket handshake needs HTTP/1.1");
  }
  if (headerValues(request, "Host").empty()) return reject(400, "missing Host header");
  if (!headerListHas(request, "Upgrade", "websocket")) {
    return reject(400, "Upgrade header must contain websocket");
  }
  if (!headerListHas(request, "Connection", "upgrade")) {
    return reject(400, "Connection header must contain upgrade");
  }
  // The version comes before the key so that a client of another protocol version learns
  // which one we speak (426 + Sec-WebSocket-Version) rather than a bare 400.
  const std::vector<std::string_view> versions = headerValues(request, "Sec-WebSocket-Version");
  if (versions.empty()) return reject(400, "missing Sec-WebSocket-Version header");
  if (versions.size() != 1 || versions[0] != "13") {
    return reject(426, "unsupported WebSocket version");
  }
  const std::vector<std::string_view> keys = headerValues(request, "Sec-WebSocket-Key");
  if (keys.size() != 1) return reject(400, "need exactly one Sec-WebSocket-Key header");
  const auto key = base64Decode(keys[0]);
  if (!key || key->size() != 16) return reject(400, "Sec-WebSocket-Key must be 16 bytes in base64");
  return {};
}

std::string_view reasonPhrase(int status) {
  const std::string_view phrase = httpReasonPhrase(status);
  return phrase.empty() ? "Error" : phrase;
}

void appendHeaderLine(std::string_view name, std::string_view value, std::string& out) {
  auto unsafe = [](std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos;
  };
  if (name.empty() || unsafe(name) || unsafe(value)) return;
  out.append(name).append(": ").append(value).append("\r\n");
}

void appendHttpError(int status, std::string_view body,
                     const std::vector<std::pair<std::string, std::string>>& extra,
                     std::string& out) {
  if (status < 300 || status > 599) status = 500;
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(reasonPhrase(status));
  out.append("\r\nContent-Type: text/plain\r\nContent-Length: ")
      .append(std::to_string(body.size()));
  if (status == 426) {
    // RFC 7231 6.5.15 wants Upgrade on a 426, and RFC 7230 6.7 "upgrade" in Connection then.
    out.append("\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13");
  } else {
    out.append("\r\nConnection: close");
  }
  if (status == 405) out.append("\r\nAllow: GET");
  out.append("\r\n");
  for (const auto& [name, value] : extra) appendHeaderLine(name, value, out);
  out.append("\r\n").append(body);
}

}  // namespace wman::ws
