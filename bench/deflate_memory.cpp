// Heap held by permessage-deflate per connection, for [worker.websocket]
// server_max_window_bits, client_max_window_bits and mem_level. Opens N codec sessions that
// negotiate deflate, sends one compressed message each way through each (so both zlib
// streams exist), and prints the heap in use per session beyond a session without deflate.
//
//   build/bin/wman_deflate_memory [server_bits client_bits mem_level [sessions]]
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "websocket/deflate.h"
#include "websocket/websocket_codec.h"

namespace {

std::size_t heapInUse() {
  return mallinfo2().uordblks;
}

std::string upgrade(bool deflate) {
  std::string r =
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  if (deflate) r += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
  return r + "\r\n";
}

// One client text frame (masked with a zero key) holding `text`: compressed by a client-side
// compressor with the window the server asked for, or as it is.
std::string clientFrame(const std::string& text, bool deflate, int client_bits) {
  std::string body = text;
  if (deflate) {
    wman::ws::DeflateParams params;
    params.server_max_window_bits = client_bits;  // the client's compressor, seen from it
    wman::ws::PerMessageDeflate client(params, {});
    body.clear();
    client.compress(wman::asBytes(text), body);
  }
  std::string f{static_cast<char>(deflate ? 0xC1 : 0x81)};
  if (body.size() < 126) {
    f += static_cast<char>(0x80 | body.size());
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(body.size() >> 8);
    f += static_cast<char>(body.size() & 0xff);
  }
  f.append(4, '\0');
  return f + body;
}

std::size_t perSession(bool deflate, const wman::WebSocketOptions& options, int sessions) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "message " + std::to_string(i) + " of the benchmark, ";
  const std::string frame = clientFrame(text, deflate, options.deflate.client_max_window_bits);
  std::vector<std::unique_ptr<wman::WebSocketCodec>> codecs;
  codecs.reserve(static_cast<std::size_t>(sessions));
  const std::size_t before = heapInUse();
  for (int i = 0; i < sessions; ++i) {
    auto codec = std::make_unique<wman::WebSocketCodec>(wman::CodecLimits{}, options);
    std::string request = upgrade(deflate), out;
    codec->decode(wman::asBytes(request));
    codec->answerHandshake({}, out);
    if (deflate && !codec->deflateParams()) std::abort();
    std::string in = frame;  // decoded in place, so each session gets its own copy
    if (codec->decode(wman::asBytes(in)).status != wman::DecodeResult::Status::Message) {
      std::abort();
    }
    codec->decode({});  // lets go of the delivered message, as the next read would
    codec->encode(wman::asBytes(text), wman::MessageKind::Text, out);
    codecs.push_back(std::move(codec));
  }
  return (heapInUse() - before) / static_cast<std::size_t>(sessions);
}

}  // namespace

int main(int argc, char** argv) {
  wman::WebSocketOptions options;
  options.permessage_deflate = true;
  if (argc >= 4) {
    options.deflate.server_max_window_bits = std::atoi(argv[1]);
    options.deflate.client_max_window_bits = std::atoi(argv[2]);
    options.deflate.mem_level = std::atoi(argv[3]);
  }
  const int sessions = argc >= 5 ? std::atoi(argv[4]) : 1000;
  const std::size_t plain = perSession(false, options, sessions);
  const std::size_t compressed = perSession(true, options, sessions);
  std::printf(
      "server_max_window_bits=%d client_max_window_bits=%d mem_level=%d: %.1f KiB per "
      "connection for permessage-deflate (%zu B with it, %zu B without; %d sessions)\n",
      options.deflate.server_max_window_bits, options.deflate.client_max_window_bits,
      options.deflate.mem_level, static_cast<double>(compressed - plain) / 1024.0, compressed,
      plain, sessions);
  return 0;
}
