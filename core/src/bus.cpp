// The public bus API (wman/bus.h, wman/bus_backend.h and the membership methods of
// Connection): thin entry points into this process's BusRouter.
#include "wman/bus.h"

#include <charconv>

#include "detail/bus_router.h"
#include "detail/connection_impl.h"
#include "wman/bus_backend.h"
#include "wman/connection.h"
#include "wman/worker.h"

namespace wman {
namespace {

detail::BusRouter& router() {
  return detail::BusRouter::get();
}

void route(BusTarget t, std::string_view name, std::string_view data,
           const std::vector<std::string>& exclude = {}, bool close = false) {
  BusEnvelope e;
  e.target = t;
  e.name = std::string(name);
  e.data = std::string(data);
  e.exclude = exclude;
  e.close = close;
  router().send(e, true);
}

template <class T>
void askFor(BusQuestion q, std::string_view name, double timeout,
            std::function<void(T, QueryReach)> done) {
  router().ask(q, name, timeout, [done = std::move(done)](BusAnswer a, QueryReach r) {
    if (!done) return;
    if constexpr (std::is_same_v<T, bool>) {
      done(a.count > 0, r);
    } else if constexpr (std::is_same_v<T, std::size_t>) {
      done(a.count, r);
    } else {
      done(std::move(a.items), r);
    }
  });
}

bool parseHex(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

void sendToClient(std::string_view client_id, std::string_view data) {
  route(BusTarget::Client, client_id, data);
}
void sendToUid(std::string_view uid, std::string_view data) {
  route(BusTarget::Uid, uid, data);
}
void sendToGroup(std::string_view group, std::string_view data,
                 const std::vector<std::string>& exclude) {
  route(BusTarget::Group, group, data, exclude);
}
void sendToAll(std::string_view data, const std::vector<std::string>& exclude) {
  route(BusTarget::All, {}, data, exclude);
}
void closeClient(std::string_view client_id) {
  route(BusTarget::Client, client_id, {}, {}, true);
}

void isUidOnline(std::string_view uid, std::function<void(bool, QueryReach)> done,
                 double timeout_seconds) {
  askFor<bool>(BusQuestion::UidOnline, uid, timeout_seconds, std::move(done));
}
void getClientIdCountByGroup(std::string_view group,
                             std::function<void(std::size_t, QueryReach)> done,
                             double timeout_seconds) {
  askFor<std::size_t>(BusQuestion::GroupCount, group, timeout_seconds, std::move(done));
}
void getClientIdListByGroup(std::string_view group,
                            std::function<void(std::vector<std::string>, QueryReach)> done,
                            double timeout_seconds) {
  askFor<std::vector<std::string>>(BusQuestion::GroupClients, group, timeout_seconds,
                                   std::move(done));
}
void getAllClientIdCount(std::function<void(std::size_t, QueryReach)> done,
                         double timeout_seconds) {
  askFor<std::size_t>(BusQuestion::AllCount, {}, timeout_seconds, std::move(done));
}
void getUidListByGroup(std::string_view group,
                       std::function<void(std::vector<std::string>, QueryReach)> done,
                       double timeout_seconds) {
  askFor<std::vector<std::string>>(BusQuestion::GroupUids, group, timeout_seconds, std::move(done));
}

namespace bus {
SubscriptionId subscribe(std::string_view channel,
                         std::function<void(std::string_view, std::string_view)> cb) {
  return router().subscribe(channel, std::move(cb));
}
bool unsubscribe(SubscriptionId id) {
  return router().unsubscribe(id);
}
void publish(std::string_view channel, std::string_view data) {
  route(BusTarget::Channel, channel, data);
}
}  // namespace bus

void setBusBackend(BusBackend* backend) {
  router().setBackend(backend);
}
void setBusIdentity(std::string node, std::uint64_t incarnation) {
  router().setIdentity(std::move(node), incarnation);
}
const std::string& busNode() {
  return router().node();
}
std::uint64_t busIncarnation() {
  return router().incarnation();
}
void busDeliver(const BusEnvelope& e) {
  router().send(e, false);
}
BusAnswer busAnswerHere(BusQuestion q, std::string_view name) {
  return router().answerHere(q, name);
}
void busAnswered(std::uint64_t id, BusAnswer answer, int replied, int asked) {
  router().answered(id, std::move(answer), replied, asked);
}
std::vector<std::pair<BusTarget, std::string>> busInterests() {
  return router().interests();
}

// node:incarnation:worker:connection, the last three in hex; node names hold no ':'.
bool parseClientId(std::string_view id, ClientAddress& out) {
  std::uint64_t parts[3];
  for (int i = 2; i >= 0; --i) {
    const auto colon = id.rfind(':');
    if (colon == std::string_view::npos || !parseHex(id.substr(colon + 1), parts[i])) return false;
    id = id.substr(0, colon);
  }
  if (id.empty() || id.find(':') != std::string_view::npos) return false;
  out.node = std::string(id);
  out.incarnation = parts[0];
  out.worker = parts[1];
  out.connection = parts[2];
  return true;
}

// Membership lives in the router, keyed by the connection's runtime and id; an
// AsyncConnection (outbound) and a udp:// worker's datagram connection (which stands for a
// different sender each time) have no address on the bus.
std::string Connection::clientId() const {
  if (!onBus()) return {};
  return router().clientId(worker_->runtime(), id_);
}
void Connection::bindUid(std::string_view uid) {
  if (onBus()) router().bindUid(worker_->runtime(), id_, uid);
}
void Connection::unbindUid() {
  if (onBus()) router().unbindUid(worker_->runtime(), id_);
}
const std::string& Connection::uid() const {
  static const std::string none;
  if (!onBus()) return none;
  return router().uid(worker_->runtime(), id_);
}
void Connection::joinGroup(std::string_view group) {
  if (onBus() && !group.empty()) router().joinGroup(worker_->runtime(), id_, group);
}
void Connection::leaveGroup(std::string_view group) {
  if (onBus()) router().leaveGroup(worker_->runtime(), id_, group);
}
std::vector<std::string> Connection::groups() const {
  if (!onBus()) return {};
  return router().groups(worker_->runtime(), id_);
}

}  // namespace wman
