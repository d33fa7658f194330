#include "detail/text.h"

#include <cctype>

namespace wman::detail {

std::string quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
  return out + "'";
}

}  // namespace wman::detail
