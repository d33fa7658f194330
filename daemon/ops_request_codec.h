// The wire side of the operations endpoint (/metrics, /healthz, /readyz): a codec that turns
// each HTTP/1.1 request head into one message, so the master serves the endpoint with the
// same Worker and Connection machinery as its control socket. Request bodies are never read:
// the endpoint answers GET only, and every answer closes the connection.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "wman/codec.h"

namespace wman::daemon {

// What the endpoint needs of a request. The codec's message carries it encoded by
// encodeOpsRequest(): the parts joined by '\n', which none of them can hold (the parser
// refuses control characters in the request line and in header values).
struct OpsRequest {
  std::string method;
  std::string path;           // without the query
  std::string authorization;  // the Authorization header, "" when absent
};

std::string encodeOpsRequest(const OpsRequest& r);
// The request in `payload`, as encodeOpsRequest() wrote it.
OpsRequest decodeOpsRequest(std::string_view payload);

// Name under which the codec is in the ProtocolRegistry.
inline constexpr std::string_view kOpsProtocol = "wman-ops";

// Registers the codec (once per process; later calls do nothing). `max_head` in the codec's
// CodecLimits (max_package_size) bounds a request head: a longer one is answered with 431.
void registerOpsProtocol();

// One HTTP response with a text body and Connection: close. `extra` holds additional header
// lines, each ending in "\r\n".
std::string opsResponse(int status, std::string_view content_type, std::string_view body,
                        std::string_view extra = {});

}  // namespace wman::daemon
