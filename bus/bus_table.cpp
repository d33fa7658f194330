#include "bus_table.h"

namespace wman::bus {

void BusTable::linkOpened(LinkId link, std::uint64_t incarnation) {
  links_[link].incarnation = incarnation;
  by_incarnation_[incarnation] = link;
}

void BusTable::linkClosed(LinkId link) {
  auto it = links_.find(link);
  if (it == links_.end()) return;
  const auto interests = it->second.interests;
  for (const auto& [t, name] : interests) interest(link, t, name, false);
  auto inc = by_incarnation_.find(it->second.incarnation);
  if (inc != by_incarnation_.end() && inc->second == link) by_incarnation_.erase(inc);
  links_.erase(it);
  // A link that is gone answers nothing more: its queries stop waiting for it (counted as
  // asked but not replied).
  for (auto& [id, q] : queries_) q.waiting.erase(link);
}

void BusTable::interest(LinkId link, BusTarget t, const std::string& name, bool on) {
  auto l = links_.find(link);
  if (l == links_.end()) return;
  Key key{t, name};
  if (on) {
    if (!l->second.interests.insert(key).second) return;
    auto& holders = holders_[key];
    holders.insert(link);
    if (holders.size() == 1 && onNodeInterest) onNodeInterest(t, name, true);
    return;
  }
  if (l->second.interests.erase(key) == 0) return;
  auto h = holders_.find(key);
  if (h == holders_.end()) return;
  h->second.erase(link);
  if (!h->second.empty()) return;
  holders_.erase(h);
  if (onNodeInterest) onNodeInterest(t, name, false);
}

std::vector<std::pair<BusTarget, std::string>> BusTable::nodeInterests() const {
  std::vector<std::pair<BusTarget, std::string>> out;
  out.reserve(holders_.size());
  for (const auto& [key, holders] : holders_) out.push_back(key);
  return out;
}

std::vector<LinkId> BusTable::linkIds() const {
  std::vector<LinkId> out;
  out.reserve(links_.size());
  for (const auto& [id, link] : links_) out.push_back(id);
  return out;
}

std::vector<LinkId> BusTable::receivers(const BusEnvelope& e, LinkId from) const {
  std::vector<LinkId> out;
  switch (e.target) {
    case BusTarget::Client: {
      ClientAddress a;
      if (!parseClientId(e.name, a)) break;
      auto it = by_incarnation_.find(a.incarnation);
      if (it != by_incarnation_.end() && it->second != from) out.push_back(it->second);
      break;
    }
    case BusTarget::All:
      for (const auto& [id, link] : links_) {
        if (id != from) out.push_back(id);
      }
      break;
    case BusTarget::Uid:
    case BusTarget::Group:
    case BusTarget::Channel: {
      auto it = holders_.find(Key{e.target, e.name});
      if (it == holders_.end()) break;
      for (LinkId id : it->second) {
        if (id != from) out.push_back(id);
      }
      break;
    }
  }
  return out;
}

std::uint64_t BusTable::startQuery(LinkId asker, std::uint64_t asker_query, BusQuestion q,
                                   std::uint64_t deadline) {
  const std::uint64_t id = ++next_query_;
  Query& query = queries_[id];
  query.done.id = id;
  query.done.asker = asker;
  query.done.asker_query = asker_query;
  query.done.question = q;
  query.done.asked = static_cast<int>(links_.size());
  query.deadline = deadline;
  for (const auto& [link, l] : links_) query.waiting.insert(link);
  return id;
}

std::optional<BusTable::Done> BusTable::queryAnswered(std::uint64_t id, LinkId from,
                                                      const BusAnswer& a) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return std::nullopt;
  Query& q = it->second;
  if (from != 0) {
    if (q.waiting.erase(from) == 0) return std::nullopt;  // not asked, or answered twice
  }
  q.done.replied++;
  q.done.answer.count += a.count;
  q.done.answer.items.insert(q.done.answer.items.end(), a.items.begin(), a.items.end());
  return finishIfComplete(id);
}

void BusTable::queryAwaitRemote(std::uint64_t id) {
  auto it = queries_.find(id);
  if (it != queries_.end()) it->second.counting_remote = true;
}

std::optional<BusTable::Done> BusTable::queryExtend(std::uint64_t id, int more_asked) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return std::nullopt;
  it->second.done.asked += more_asked;
  it->second.counting_remote = false;
  return finishIfComplete(id);
}

std::optional<BusTable::Done> BusTable::finishIfComplete(std::uint64_t id) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return std::nullopt;
  const Query& q = it->second;
  if (!q.waiting.empty() || q.counting_remote || q.done.replied < q.done.asked) {
    return std::nullopt;
  }
  Done d = std::move(it->second.done);
  queries_.erase(it);
  return d;
}

std::vector<BusTable::Done> BusTable::expire(std::uint64_t now) {
  std::vector<Done> out;
  for (auto it = queries_.begin(); it != queries_.end();) {
    const Query& q = it->second;
    const bool due = now >= q.deadline ||
                     (q.waiting.empty() && !q.counting_remote && q.done.replied >= q.done.asked);
    if (!due) {
      ++it;
      continue;
    }
    out.push_back(std::move(it->second.done));
    it = queries_.erase(it);
  }
  return out;
}

}  // namespace wman::bus
