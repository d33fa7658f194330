#include "wman/codec.h"

#include "wman/http.h"

namespace wman {

std::string_view HandshakeRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return {};
}

}  // namespace wman
