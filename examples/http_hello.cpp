// Library mode, HTTP: every request is answered with "hello" (text/plain). One process, served
// in the calling process (wman::serveInProcess), so bench/run_http can pin and measure it.
//   build/bin/http_hello 8080          then   curl http://127.0.0.1:8080/
#include <cstdio>
#include <cstdlib>
#include <string>

#include <wman/serve.h>
#include <wman/worker.h>

int main(int argc, char** argv) {
  if (argc != 2 || std::atoi(argv[1]) <= 0 || std::atoi(argv[1]) > 65535) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  wman::Worker web{"http://127.0.0.1:" + std::string(argv[1])};
  web.name = "http-hello";
  web.count = 1;
  web.onRequest = [](wman::Request&, wman::Response& res) {
    res.header("Content-Type", "text/plain");
    res.end("hello");
  };
  return wman::serveInProcess({&web});
}
