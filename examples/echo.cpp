// Library mode in ten lines: a text echo server with a greeting and a connection count.
//   build/bin/example_echo start          then   printf 'hi\n' | nc 127.0.0.1 9001
#include <wman/run.h>
#include <wman/worker.h>

int main(int argc, char** argv) {
  wman::Worker echo{"text://127.0.0.1:9001"};
  echo.name = "echo";
  echo.onConnect = [](wman::Connection& c) {
    c.send("welcome, you are #" + std::to_string(c.id()));
  };
  echo.onMessage = [](wman::Connection& c, wman::Message m) { c.send(m); };
  return wman::runAll(argc, argv);
}
