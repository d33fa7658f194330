// Peer server for the wman benchmark: an echo server on µWebSockets, built outside the
// repository against a checkout of uWebSockets + uSockets (bench/peers/build_uws).
//
// usage: uws_echo PORT
//
// Listens on 127.0.0.1:PORT and answers every WebSocket message with the same bytes and the
// same opcode. Compression is off and the idle timeout is long, as in the other servers
// measured; SIGINT or SIGTERM stops it (default action).
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "App.h"

int main(int argc, char** argv) {
  const int port = argc == 2 ? std::atoi(argv[1]) : 0;
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "usage: uws_echo PORT\n");
    return 2;
  }
  struct PerSocket {};
  uWS::App()
      .ws<PerSocket>("/*", {.compression = uWS::DISABLED,
                            .maxPayloadLength = 16 * 1024 * 1024,
                            .idleTimeout = 960,
                            .maxBackpressure = 64 * 1024 * 1024,
                            .message = [](auto* ws, std::string_view message,
                                          uWS::OpCode op) { ws->send(message, op, false); }})
      .listen("127.0.0.1", port,
              [port](auto* listen_socket) {
                if (!listen_socket) {
                  std::fprintf(stderr, "uws_echo: cannot listen on 127.0.0.1:%d\n", port);
                  std::exit(1);
                }
                std::printf("listening on 127.0.0.1:%d\n", port);
                std::fflush(stdout);
              })
      .run();
  return 0;
}
