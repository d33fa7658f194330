// Entry point for library mode: the same CLI, config file and process model as the
// `wman` binary, for the Workers the program defined.
#pragma once

namespace wman {

// Parses `start [-c FILE] | check [-c FILE]` (see docs/operations.md), loads the config if
// one is given, and runs every wman::Worker constructed so far plus the [[worker]] tables
// of the config. Returns the process exit status; never throws.
int runAll(int argc, char** argv);

}  // namespace wman
