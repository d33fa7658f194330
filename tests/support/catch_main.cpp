// The single Catch2 entry point shared by every wman test executable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
