#include <catch2/catch.hpp>

#include <uv.h>

#include "detail/uv_error.h"

using wman::detail::uvError;

TEST_CASE("libuv statuses become std::error_code at the boundary") {
  CHECK_FALSE(uvError(0));
  CHECK_FALSE(uvError(5));  // positive values are byte counts, not errors
  auto ec = uvError(UV_EADDRINUSE);
  REQUIRE(ec);
  CHECK(std::string(ec.category().name()) == "libuv");
  CHECK(ec.message() == "address already in use");
  CHECK(uvError(UV_ECONNRESET) != uvError(UV_EPIPE));
}
