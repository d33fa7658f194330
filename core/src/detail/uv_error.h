// libuv reports errors as negative ints; wman converts them to std::error_code at the
// boundary so nothing above core sees a raw libuv status.
#pragma once

#include <system_error>

namespace wman::detail {

// The "libuv" error category; messages come from uv_strerror().
const std::error_category& uvCategory();

// 0 -> no error; a negative libuv status -> that error.
inline std::error_code uvError(int status) {
  return status < 0 ? std::error_code(-status, uvCategory()) : std::error_code();
}

}  // namespace wman::detail
