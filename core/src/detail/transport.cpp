#include "detail/transport.h"

#include "detail/connection_impl.h"
#include "detail/tls_transport.h"

namespace wman::detail {
namespace {

// Bytes cross as they are: what was read is the protocol's input, what it queued is
// written as it is.
class PlainTransport final : public Transport {
 public:
  void input(ConnectionImpl& c, const char* data, std::size_t size) override {
    c.handlePlain(data, size);
  }
  std::string& output(std::string& plain, bool, std::string&) override { return plain; }
  bool established() const override { return true; }
  bool flushesOnClose() const override { return false; }
  bool passesThrough() const override { return true; }
  bool noDelay() const override { return true; }

 private:
  void release() override {}
};

}  // namespace

Transport::Ptr Transport::plain() {
  static PlainTransport shared;
  return Ptr(&shared);
}

Transport::Ptr Transport::create(std::shared_ptr<TlsContext> tls) {
  if (!tls) return plain();
  return Ptr(new TlsTransport(std::move(tls)));
}

}  // namespace wman::detail
