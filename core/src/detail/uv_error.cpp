#include "detail/uv_error.h"

#include <uv.h>

#include <string>

namespace wman::detail {
namespace {

class UvCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "libuv"; }
  std::string message(int value) const override { return uv_strerror(-value); }
};

}  // namespace

const std::error_category& uvCategory() {
  static const UvCategory category;
  return category;
}

}  // namespace wman::detail
