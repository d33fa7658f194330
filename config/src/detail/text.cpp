#include "detail/text.h"

#include <cctype>

#include "wman/protocol_registry.h"

namespace wman::detail {

std::string quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
  return out + "'";
}

std::string registeredProtocols() {
  std::string out;
  for (const std::string& name : ProtocolRegistry::names()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace wman::detail
