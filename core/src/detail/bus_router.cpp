#include "detail/bus_router.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "detail/log.h"
#include "detail/worker_runtime.h"

namespace wman::detail {
namespace {

const std::string kNone;

// Host names may hold characters a node name must not (':' separates client id parts).
std::string defaultNode() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "local";
  std::string node(host);
  for (char& ch : node) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
    if (!ok) ch = '_';
  }
  return node;
}

std::uint64_t randomIncarnation() {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != sizeof v) v = static_cast<std::uint64_t>(::getpid());
  return v;
}

template <class Fn>
void guarded(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    log().error("bus: {} threw: {}", what, e.what());
  } catch (...) {
    log().error("bus: {} threw a non-standard exception", what);
  }
}

}  // namespace

BusRouter& BusRouter::get() {
  static BusRouter router;
  return router;
}

void BusRouter::ensureIdentity() {
  // A child forked from a process that drew its identity must not share its incarnation,
  // or client ids of two processes would collide.
  if (identity_pid_ == ::getpid()) return;
  if (node_.empty()) node_ = defaultNode();
  incarnation_ = randomIncarnation();
  identity_pid_ = ::getpid();
}

void BusRouter::setIdentity(std::string node, std::uint64_t incarnation) {
  node_ = std::move(node);
  incarnation_ = incarnation;
  identity_pid_ = ::getpid();
}

const std::string& BusRouter::node() {
  ensureIdentity();
  return node_;
}

std::uint64_t BusRouter::incarnation() {
  ensureIdentity();
  return incarnation_;
}

std::uint64_t BusRouter::indexOf(WorkerRuntime& rt) {
  auto it = std::find(runtimes_.begin(), runtimes_.end(), &rt);
  if (it != runtimes_.end()) return static_cast<std::uint64_t>(it - runtimes_.begin()) + 1;
  runtimes_.push_back(&rt);
  return runtimes_.size();
}

void BusRouter::runtimeGone(WorkerRuntime& rt) {
  auto it = std::find(runtimes_.begin(), runtimes_.end(), &rt);
  if (it == runtimes_.end()) return;
  // The slot stays taken: a later runtime must not inherit the client ids of this one.
  *it = nullptr;
  codecs_.erase(static_cast<std::uint64_t>(it - runtimes_.begin()) + 1);
}

std::string BusRouter::clientId(WorkerRuntime& rt, ConnectionId id) {
  char buf[64];
  std::snprintf(buf, sizeof buf, ":%016llx:%llx:%llx",
                static_cast<unsigned long long>(incarnation()),
                static_cast<unsigned long long>(indexOf(rt)), static_cast<unsigned long long>(id));
  return node() + buf;
}

Connection* BusRouter::open(const Key& k, WorkerRuntime** rt) const {
  if (k.index == 0 || k.index > runtimes_.size()) return nullptr;
  WorkerRuntime* r = runtimes_[k.index - 1];
  if (!r) return nullptr;
  Connection* c = r->find(k.id);
  if (!c || c->state() != ConnectionState::Established) return nullptr;
  if (rt) *rt = r;
  return c;
}

void BusRouter::add(std::unordered_map<std::string, KeySet>& index, BusTarget t,
                    const std::string& name, const Key& k) {
  auto [it, fresh] = index.try_emplace(name);
  it->second.insert(k);
  if (fresh && backend_) backend_->interest(t, name, true);
}

void BusRouter::remove(std::unordered_map<std::string, KeySet>& index, BusTarget t,
                       const std::string& name, const Key& k) {
  auto it = index.find(name);
  if (it == index.end()) return;
  it->second.erase(k);
  if (!it->second.empty()) return;
  index.erase(it);
  if (backend_) backend_->interest(t, name, false);
}

void BusRouter::bindUid(WorkerRuntime& rt, ConnectionId id, std::string_view uid) {
  if (uid.empty()) return unbindUid(rt, id);
  const Key k = keyOf(rt, id);
  Membership& m = members_[k];
  if (m.uid == uid) return;
  if (!m.uid.empty()) remove(uids_, BusTarget::Uid, m.uid, k);
  m.uid = std::string(uid);
  add(uids_, BusTarget::Uid, m.uid, k);
}

void BusRouter::unbindUid(WorkerRuntime& rt, ConnectionId id) {
  const Key k = keyOf(rt, id);
  auto it = members_.find(k);
  if (it == members_.end() || it->second.uid.empty()) return;
  remove(uids_, BusTarget::Uid, it->second.uid, k);
  it->second.uid.clear();
  if (it->second.groups.empty()) members_.erase(it);
}

std::optional<BusRouter::Key> BusRouter::findKey(const WorkerRuntime& rt, ConnectionId id) const {
  auto it = std::find(runtimes_.begin(), runtimes_.end(), &rt);
  if (it == runtimes_.end()) return std::nullopt;
  return Key{static_cast<std::uint64_t>(it - runtimes_.begin()) + 1, id};
}

const BusRouter::Membership* BusRouter::membership(const WorkerRuntime& rt, ConnectionId id) const {
  const auto k = findKey(rt, id);
  if (!k) return nullptr;
  auto it = members_.find(*k);
  return it == members_.end() ? nullptr : &it->second;
}

const std::string& BusRouter::uid(WorkerRuntime& rt, ConnectionId id) const {
  const Membership* m = membership(rt, id);
  return m ? m->uid : kNone;
}

void BusRouter::joinGroup(WorkerRuntime& rt, ConnectionId id, std::string_view group) {
  const Key k = keyOf(rt, id);
  Membership& m = members_[k];
  if (std::find(m.groups.begin(), m.groups.end(), group) != m.groups.end()) return;
  m.groups.emplace_back(group);
  add(groups_, BusTarget::Group, m.groups.back(), k);
}

void BusRouter::leaveGroup(WorkerRuntime& rt, ConnectionId id, std::string_view group) {
  const Key k = keyOf(rt, id);
  auto it = members_.find(k);
  if (it == members_.end()) return;
  auto& gs = it->second.groups;
  auto g = std::find(gs.begin(), gs.end(), group);
  if (g == gs.end()) return;
  remove(groups_, BusTarget::Group, *g, k);
  gs.erase(g);
  if (gs.empty() && it->second.uid.empty()) members_.erase(it);
}

std::vector<std::string> BusRouter::groups(WorkerRuntime& rt, ConnectionId id) const {
  const Membership* m = membership(rt, id);
  return m ? m->groups : std::vector<std::string>{};
}

void BusRouter::connectionClosed(WorkerRuntime& rt, ConnectionId id) {
  const auto k = findKey(rt, id);
  if (!k) return;  // this runtime never had a member
  auto m = members_.find(*k);
  if (m == members_.end()) return;
  Membership gone = std::move(m->second);
  members_.erase(m);
  if (!gone.uid.empty()) remove(uids_, BusTarget::Uid, gone.uid, *k);
  for (const auto& g : gone.groups) remove(groups_, BusTarget::Group, g, *k);
}

}  // namespace wman::detail
