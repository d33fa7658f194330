#include "detail/resolver.h"

#include <array>
#include <memory>
#include <utility>

#include "detail/log.h"
#include "detail/uv_error.h"

namespace wman::detail {

// One lookup handed to libuv. libuv owns it from uv_getaddrinfo() until onResolved(), which
// always runs (with UV_EAI_CANCELED after a successful uv_cancel), so that is where it is
// freed; the owner only ever detaches from it.
struct AsyncResolver::Request {
  uv_getaddrinfo_t req{};
  AsyncResolver* owner = nullptr;  // null once cancelled: the answer is then dropped
  std::string host;
  Callback done;
};

std::error_code AsyncResolver::start(std::string_view host, std::uint16_t port,
                                     const ResolveOptions& options, Callback done) {
  cancel();
  // resolve() refuses an empty host too; getaddrinfo would take it as "this machine".
  if (host.empty()) return {EAI_NONAME, resolveCategory()};
  auto request = std::make_unique<Request>();
  request->owner = this;
  request->host = std::string(host);
  request->done = std::move(done);
  request->req.data = request.get();
  const addrinfo hints = resolveHints(options);
  const std::string service = std::to_string(port);
  // libuv copies the node, service and hints, so nothing here needs to outlive the call.
  const int rc = uv_getaddrinfo(&loop_, &request->req, &AsyncResolver::onResolved,
                                request->host.c_str(), service.c_str(), &hints);
  if (rc < 0) return resolveError(rc);
  request_ = request.release();
  return {};
}

bool AsyncResolver::cancel() {
  if (request_ == nullptr) return false;
  Request* request = std::exchange(request_, nullptr);
  request->owner = nullptr;
  // The callback's captures may point into the owner, which may be about to go away.
  request->done = nullptr;
  // Fails with UV_EBUSY once a pool thread has the lookup; the detached owner pointer then
  // makes its late answer a no-op.
  return uv_cancel(reinterpret_cast<uv_req_t*>(&request->req)) == 0;
}

void AsyncResolver::onResolved(uv_getaddrinfo_t* req, int status, addrinfo* list) {
  std::unique_ptr<Request> request(static_cast<Request*>(req->data));
  AsyncResolver* owner = request->owner;
  if (owner == nullptr) {
    uv_freeaddrinfo(list);
    return;
  }
  owner->request_ = nullptr;
  ResolveResult result = status < 0 ? resolveFailure(request->host, resolveError(status))
                                    : resolveCollect(request->host, list);
  uv_freeaddrinfo(list);
  // Moved out and the request freed first: the callback may destroy the owner or start
  // the next lookup.
  Callback done = std::move(request->done);
  request.reset();
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    log().error("resolve callback threw: {}", e.what());
  } catch (...) {
    log().error("resolve callback threw a non-standard exception");
  }
}

std::error_code resolveError(int uv_status) {
  struct Pair {
    int uv;
    int eai;
  };
  // The failures libuv translates from getaddrinfo (uv__getaddrinfo_translate_error), back
  // to the code resolve() reports, so both forms give the same error and message.
  static constexpr std::array<Pair, 12> kTable{{
      {UV_EAI_ADDRFAMILY, EAI_ADDRFAMILY},
      {UV_EAI_AGAIN, EAI_AGAIN},
      {UV_EAI_BADFLAGS, EAI_BADFLAGS},
      {UV_EAI_CANCELED, EAI_CANCELED},
      {UV_EAI_FAIL, EAI_FAIL},
      {UV_EAI_FAMILY, EAI_FAMILY},
      {UV_EAI_MEMORY, EAI_MEMORY},
      {UV_EAI_NODATA, EAI_NODATA},
      {UV_EAI_NONAME, EAI_NONAME},
      {UV_EAI_OVERFLOW, EAI_OVERFLOW},
      {UV_EAI_SERVICE, EAI_SERVICE},
      {UV_EAI_SOCKTYPE, EAI_SOCKTYPE},
  }};
  for (const Pair& p : kTable) {
    if (p.uv == uv_status) return {p.eai, resolveCategory()};
  }
  return uvError(uv_status);
}

}  // namespace wman::detail
