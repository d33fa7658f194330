// BusRouter's traffic: delivery to this process's receivers, channel subscriptions and
// queries (membership is in bus_router.cpp).
#include <algorithm>

#include "detail/bus_router.h"
#include "detail/log.h"
#include "detail/worker_runtime.h"
#include "wman/worker.h"

namespace wman::detail {

void BusRouter::send(const BusEnvelope& e, bool from_here) {
  switch (e.target) {
    case BusTarget::Client: {
      ClientAddress a;
      if (!parseClientId(e.name, a)) return;
      if (a.node == node() && a.incarnation == incarnation()) {
        // Ours: it can be nowhere else.
        deliverKeys({Key{a.worker, a.connection}}, e);
        return;
      }
      break;
    }
    case BusTarget::Uid:
      if (auto it = uids_.find(e.name); it != uids_.end()) deliverTo(it->second, e);
      break;
    case BusTarget::Group:
      if (auto it = groups_.find(e.name); it != groups_.end()) deliverTo(it->second, e);
      break;
    case BusTarget::All:
      deliverToAll(e);
      break;
    case BusTarget::Channel:
      publishHere(e.name, e.data);
      break;
  }
  if (from_here && backend_) backend_->forward(e);
}

void BusRouter::deliverTo(const KeySet& keys, const BusEnvelope& e) {
  // A copy: a send may run callbacks (onBufferFull) that change memberships.
  deliverKeys(std::vector<Key>(keys.begin(), keys.end()), e);
}

void BusRouter::deliverToAll(const BusEnvelope& e) {
  std::vector<Key> keys;
  for (Worker* w : Worker::all()) {
    if (!w->hasListener() || !w->runtime().running()) continue;
    const std::uint64_t index = indexOf(w->runtime());
    for (const auto& entry : w->connections()) keys.push_back(Key{index, entry.first});
  }
  deliverKeys(std::move(keys), e);
}

void BusRouter::deliverKeys(std::vector<Key> keys, const BusEnvelope& e) {
  const KeySet skip = e.exclude.empty() ? KeySet{} : excluded(e.exclude);
  // Grouped by runtime so each message is encoded once per worker and the same bytes are
  // queued on every receiver.
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) { return a.index < b.index; });
  std::string frame;
  std::uint64_t encoded_for = 0;
  for (const Key& k : keys) {
    WorkerRuntime* rt = nullptr;
    Connection* c = open(k, &rt);
    if (!c || skip.count(k)) continue;
    if (!e.data.empty() && encoded_for != k.index) {
      auto& codec = codecs_[k.index];
      if (!codec) codec = rt->createCodec();
      if (!codec) continue;
      frame.clear();
      codec->encode(asBytes(e.data), codec->defaultKind(), frame);
      encoded_for = k.index;
    }
    if (!e.data.empty()) c->sendRaw(frame);
    if (e.close) c->close();
  }
}

BusRouter::KeySet BusRouter::excluded(const std::vector<std::string>& ids) {
  KeySet out;
  for (const auto& id : ids) {
    ClientAddress a;
    if (parseClientId(id, a) && a.node == node() && a.incarnation == incarnation()) {
      out.insert(Key{a.worker, a.connection});
    }
  }
  return out;
}

bus::SubscriptionId BusRouter::subscribe(
    std::string_view channel, std::function<void(std::string_view, std::string_view)> cb) {
  const bus::SubscriptionId id = ++next_sub_;
  subs_.emplace(id, Subscription{std::string(channel), std::move(cb)});
  if (channel_subs_[std::string(channel)]++ == 0 && backend_) {
    backend_->interest(BusTarget::Channel, channel, true);
  }
  return id;
}

bool BusRouter::unsubscribe(bus::SubscriptionId id) {
  auto it = subs_.find(id);
  if (it == subs_.end()) return false;
  const std::string channel = std::move(it->second.channel);
  subs_.erase(it);
  auto n = channel_subs_.find(channel);
  if (n != channel_subs_.end() && --n->second == 0) {
    channel_subs_.erase(n);
    if (backend_) backend_->interest(BusTarget::Channel, channel, false);
  }
  return true;
}

void BusRouter::publishHere(const std::string& channel, std::string_view data) {
  if (!channel_subs_.count(channel)) return;
  std::vector<bus::SubscriptionId> ids;
  for (const auto& [id, s] : subs_) {
    if (s.channel == channel) ids.push_back(id);
  }
  for (auto id : ids) {
    auto it = subs_.find(id);  // an earlier callback may have unsubscribed it
    if (it == subs_.end()) continue;
    auto cb = it->second.cb;
    try {
      if (cb) cb(channel, data);
    } catch (const std::exception& e) {
      log().error("bus: subscriber of channel {} threw: {}", channel, e.what());
    }
  }
}

void BusRouter::ask(BusQuestion q, std::string_view name, double timeout_seconds,
                    std::function<void(BusAnswer, QueryReach)> done) {
  const std::uint64_t id = ++next_query_;
  auto& p = pending_[id];
  p.done = std::move(done);
  p.question = q;
  if (!backend_) {
    // Answered from here alone, but still later: callers may rely on `done` not running
    // inside the call.
    p.answer = answerHere(q, name);
    p.timer = Timer::delay(0, [this, id] { answered(id, std::move(pending_[id].answer), 1, 1); });
    return;
  }
  // The backend answers by the deadline; this timer only guards against one that cannot.
  p.timer = Timer::delay(timeout_seconds + 1.0, [this, id] { answered(id, {}, 0, 1); });
  backend_->ask(id, q, name, static_cast<std::uint64_t>(timeout_seconds * 1000));
}

void BusRouter::answered(std::uint64_t id, BusAnswer answer, int replied, int asked) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  Timer::del(p.timer);
  if (p.question == BusQuestion::GroupUids) {
    std::sort(answer.items.begin(), answer.items.end());
    answer.items.erase(std::unique(answer.items.begin(), answer.items.end()), answer.items.end());
    answer.count = answer.items.size();
  }
  try {
    if (p.done) p.done(std::move(answer), QueryReach{replied, asked});
  } catch (const std::exception& e) {
    log().error("bus: query callback threw: {}", e.what());
  }
}

BusAnswer BusRouter::answerHere(BusQuestion q, std::string_view name) const {
  BusAnswer a;
  auto& self = const_cast<BusRouter&>(*this);
  auto members = [&](const std::unordered_map<std::string, KeySet>& index) -> const KeySet* {
    auto it = index.find(std::string(name));
    return it == index.end() ? nullptr : &it->second;
  };
  switch (q) {
    case BusQuestion::UidOnline:
      if (const KeySet* s = members(uids_)) a.count = s->size();
      break;
    case BusQuestion::GroupCount:
      if (const KeySet* s = members(groups_)) a.count = s->size();
      break;
    case BusQuestion::GroupClients:
      if (const KeySet* s = members(groups_)) {
        for (const Key& k : *s) {
          if (WorkerRuntime* rt = runtimes_[k.index - 1])
            a.items.push_back(self.clientId(*rt, k.id));
        }
      }
      a.count = a.items.size();
      break;
    case BusQuestion::AllCount:
      for (Worker* w : Worker::all()) {
        if (w->hasListener() && w->runtime().running()) a.count += w->connections().size();
      }
      break;
    case BusQuestion::GroupUids:
      if (const KeySet* s = members(groups_)) {
        for (const Key& k : *s) {
          auto m = members_.find(k);
          if (m != members_.end() && !m->second.uid.empty()) a.items.push_back(m->second.uid);
        }
      }
      std::sort(a.items.begin(), a.items.end());
      a.items.erase(std::unique(a.items.begin(), a.items.end()), a.items.end());
      a.count = a.items.size();
      break;
  }
  return a;
}

std::vector<std::pair<BusTarget, std::string>> BusRouter::interests() const {
  std::vector<std::pair<BusTarget, std::string>> out;
  for (const auto& [uid, keys] : uids_) out.emplace_back(BusTarget::Uid, uid);
  for (const auto& [group, keys] : groups_) out.emplace_back(BusTarget::Group, group);
  for (const auto& [channel, n] : channel_subs_) out.emplace_back(BusTarget::Channel, channel);
  return out;
}

}  // namespace wman::detail
