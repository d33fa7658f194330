// HTTP/1.1 pieces for tests that talk to an http:// worker over a TestClient: reading one
// response (head, then a Content-Length or chunked body) at a time, so pipelined responses
// can be checked one by one.
#pragma once

#include <cstdlib>
#include <string>

#include "test_client.h"

namespace wman::test {

struct HttpReply {
  bool ok = false;  // false if the connection ended (or timed out) before a whole response
  int status = 0;
  std::string head;  // status line and headers, blank line included
  std::string body;  // de-chunked
  // The first header `name` (case-insensitive), or empty.
  std::string header(std::string name) const {
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string lower = head;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const std::size_t at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return {};
    std::size_t start = at + 3 + name.size();
    while (start < head.size() && head[start] == ' ') ++start;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// Reads up to and including "\r\n\r\n", byte by byte so nothing behind it is consumed.
inline std::string httpReadHead(TestClient& c) {
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::string chunk = c.recvSome(1);
    if (chunk.empty()) return {};
    head += chunk;
  }
  return head;
}

// One response; `head_request` for the answer to HEAD (no body whatever its headers say).
inline HttpReply httpRead(TestClient& c, bool head_request = false) {
  HttpReply r;
  r.head = httpReadHead(c);
  if (r.head.size() < 12) return r;
  r.status = std::atoi(r.head.c_str() + 9);
  if (head_request || r.status == 204 || r.status == 304 || r.status < 200) {
    r.ok = true;
    return r;
  }
  if (r.header("Transfer-Encoding") == "chunked") {
    for (;;) {
      std::string line;
      while (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") {
        std::string b = c.recvSome(1);
        if (b.empty()) return r;
        line += b;
      }
      const std::size_t size = std::strtoul(line.c_str(), nullptr, 16);
      if (size == 0) {
        if (c.recvExactly(2) != "\r\n") return r;
        break;
      }
      r.body += c.recvExactly(size);
      if (c.recvExactly(2) != "\r\n") return r;
    }
  } else if (const std::string length = r.header("Content-Length"); !length.empty()) {
    r.body = c.recvExactly(std::strtoul(length.c_str(), nullptr, 10));
  } else {
    r.body = c.readUntilClosed();
  }
  r.ok = true;
  return r;
}

inline std::string httpGet(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

}  // namespace wman::test
