// The `wman` binary: config mode. Every worker comes from the config file's [[worker]]
// tables; see docs/config.md.
#include "wman/run.h"

int main(int argc, char** argv) {
  return wman::runAll(argc, argv);
}
