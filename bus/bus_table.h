// The bus process's routing state, without any I/O: which worker link holds receivers for
// which uid, group and channel, which link is which incarnation (client ids), and the
// queries in flight. The bus process feeds it events and writes what it returns.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "wman/bus_backend.h"

namespace wman::bus {

using LinkId = std::uint64_t;  // a worker link, by its connection id in the bus process

class BusTable {
 public:
  // A (target, name) the node as a whole gained its first or lost its last receiver for
  // (what a Redis link subscribes to).
  std::function<void(BusTarget, const std::string&, bool)> onNodeInterest;

  void linkOpened(LinkId link, std::uint64_t incarnation);
  // Forgets the link's interests (and answers it owes to queries).
  void linkClosed(LinkId link);
  void interest(LinkId link, BusTarget t, const std::string& name, bool on);
  std::size_t links() const { return links_.size(); }
  std::vector<LinkId> linkIds() const;
  // How many uids, groups and channels this node holds receivers for.
  std::size_t interestCount() const { return holders_.size(); }
  bool hasLink(LinkId link) const { return links_.count(link) != 0; }
  // Names with at least one receiver on this node, for re-subscribing everything.
  std::vector<std::pair<BusTarget, std::string>> nodeInterests() const;

  // The links that hold receivers for `e`, but not `from` (the sender served its own
  // receivers). Client targets resolve by incarnation (the caller checked the node).
  std::vector<LinkId> receivers(const BusEnvelope& e, LinkId from) const;

  // Queries: one asked by a link (or by a remote node, link 0) goes to every link; the
  // merged answer is ready once all replied or at `deadline` (ms on the caller's clock).
  struct Done {
    std::uint64_t id = 0;  // the bus's id for the query
    LinkId asker = 0;
    std::uint64_t asker_query = 0;  // the id the asker gave it
    BusQuestion question = BusQuestion::AllCount;
    BusAnswer answer;
    int replied = 0;
    int asked = 0;
  };
  // Returns the bus's id for the query; every current link must be asked with it.
  std::uint64_t startQuery(LinkId asker, std::uint64_t asker_query, BusQuestion q,
                           std::uint64_t deadline);
  std::optional<Done> queryAnswered(std::uint64_t id, LinkId from, const BusAnswer& a);
  // Other nodes were asked too, but how many is not known yet: the query waits for
  // queryExtend() (or its deadline).
  void queryAwaitRemote(std::uint64_t id);
  // `more_asked` other nodes were asked; their answers come as queryAnswered(id, 0, ...).
  std::optional<Done> queryExtend(std::uint64_t id, int more_asked);
  std::vector<Done> expire(std::uint64_t now);
  // The query's answer if nobody is left to answer it (no links were asked).
  std::optional<Done> poll(std::uint64_t id) { return finishIfComplete(id); }

 private:
  struct Link {
    std::uint64_t incarnation = 0;
    std::set<std::pair<BusTarget, std::string>> interests;
  };
  struct Query {
    Done done;
    std::set<LinkId> waiting;
    std::uint64_t deadline = 0;
    bool counting_remote = false;
  };
  using Key = std::pair<BusTarget, std::string>;

  std::optional<Done> finishIfComplete(std::uint64_t id);

  std::unordered_map<LinkId, Link> links_;
  std::unordered_map<std::uint64_t, LinkId> by_incarnation_;
  std::map<Key, std::set<LinkId>> holders_;
  std::map<std::uint64_t, Query> queries_;
  std::uint64_t next_query_ = 0;
};

}  // namespace wman::bus
