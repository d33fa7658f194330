#include "bus_process.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

#include <spdlog/spdlog.h>
#include "bus_table.h"
#include "child_setup.h"
#include "ipc.h"
#include "loop_lag.h"
#include "privileges.h"
#include "redis_bridge.h"
#include "wman/bus_backend.h"

#include "wman/logging.h"
#include "wman/loop.h"
#include "wman/process_memory.h"
#include "wman/timer.h"

namespace wman::daemon {
namespace {

using bus::BusTable;
using bus::LinkId;

class BusProcess {
 public:
  explicit BusProcess(const BusProcessContext& ctx) : ctx_(ctx) {}

  int run() {
    channel_.setProtocol("frame");
    channel_.name = "master-channel";
    channel_.onMessage = [this](Connection&, Message m) { fromMaster(m.view()); };
    channel_.onClose = [this](Connection&) { shutdown(); };
    if (loop_.startWorker(channel_)) return 1;
    std::error_code ec;
    Connection* up = loop_.adopt(channel_, ctx_.channel_fd, ec);
    if (!up) return 1;
    up_ = up->id();

    links_.name = "bus";
    links_.setProtocol("frame");
    links_.limits.max_send_buffer = ctx_.bus.max_queue;
    links_.limits.max_package_size = ctx_.bus.max_queue;
    links_.onMessage = [this](Connection& c, Message m) { fromLink(c, m.view()); };
    links_.onClose = [this](Connection& c) { table_.linkClosed(c.id()); };
    if (auto lec = loop_.startWorker(links_, ctx_.listen_fd)) {
      logger().error("bus: cannot serve the bus socket: {}", lec.message());
      return 1;
    }
    if (!ctx_.bus.redis.empty()) {
      redis_ = std::make_unique<RedisBridge>(ctx_.bus, ctx_.node, table_);
      redis_->onArrival = [this](const BusEnvelope& e) { deliver(e, 0); };
      redis_->onQueryDone = [this](const BusTable::Done& d) { finish(d); };
      redis_->onRemoteAsk = [this](BusQuestion q, const std::string& name, std::uint64_t ms,
                                   std::function<void(const BusAnswer&, int)> answer) {
        remoteAsk(q, name, ms, std::move(answer));
      };
      redis_->start();
    }
    send(ipc::Ready{::getpid()});
    Timer::add(1.0, [this] { report(); });
    loop_.run();
    return 0;
  }

 private:
  void send(const ipc::Message& msg) {
    if (Connection* c = channel_.connection(up_)) c->send(ipc::encode(msg));
  }

  void shutdown() {
    if (stopping_) return;
    stopping_ = true;
    redis_.reset();
    loop_.stopWorker(links_, false,
                     [this] { loop_.stopWorker(channel_, false, [this] { loop_.shutdown(); }); });
  }

  void fromMaster(std::string_view frame) {
    auto msg = ipc::decode(frame);
    if (!msg) return;
    if (const auto* r = std::get_if<ipc::BusRoute>(&*msg)) {
      // `wman send`: from outside every worker, so every local receiver gets it.
      route(ipc::fromRoute(*r), 0);
    } else if (std::holds_alternative<ipc::Stop>(*msg)) {
      shutdown();
    } else if (std::holds_alternative<ipc::ReopenLogs>(*msg)) {
      reopenLogs();
    }
  }

  void fromLink(Connection& c, std::string_view frame) {
    std::string why;
    auto msg = ipc::decode(frame, &why);
    if (!msg) {
      stats_.unreadable++;
      logger().warn("bus: unreadable message from link {}: {}", c.id(), why);
      return;
    }
    const LinkId link = c.id();
    if (const auto* h = std::get_if<ipc::BusHello>(&*msg)) {
      table_.linkOpened(link, ipc::unhex(h->incarnation));
      for (const auto& i : h->interests) interest(link, i.target, i.name, true);
    } else if (const auto* i = std::get_if<ipc::BusInterest>(&*msg)) {
      interest(link, i->target, i->name, i->on);
    } else if (const auto* r = std::get_if<ipc::BusRoute>(&*msg)) {
      // A worker's BusRoute is what its receivers get: forwarded as it came, not re-encoded.
      route(ipc::fromRoute(*r), link, frame);
    } else if (const auto* a = std::get_if<ipc::BusAsk>(&*msg)) {
      ask(link, *a);
    } else if (const auto* r = std::get_if<ipc::BusReply>(&*msg)) {
      BusAnswer answer{static_cast<std::size_t>(r->count), r->items};
      if (auto done = table_.queryAnswered(static_cast<std::uint64_t>(r->id), link, answer)) {
        finish(*done);
      }
    }
  }

  void interest(LinkId link, std::int64_t target, const std::string& name, bool on) {
    if (target < 0 || target > static_cast<std::int64_t>(BusTarget::Channel)) return;
    table_.interest(link, static_cast<BusTarget>(target), name, on);
  }

  // A message from a worker (`from`) or from outside (0): every other local receiver, and
  // the other nodes when it may have receivers there.
  void route(const BusEnvelope& e, LinkId from, std::string_view frame = {}) {
    stats_.routed++;
    deliver(e, from, frame);
    if (redis_) redis_->publish(e);
  }

  // `frame`: the envelope already encoded as a BusRoute, when it came in as one.
  void deliver(const BusEnvelope& e, LinkId from, std::string_view frame = {}) {
    if (e.target == BusTarget::Client) {
      ClientAddress a;
      if (!parseClientId(e.name, a) || a.node != ctx_.node) return;
    }
    const auto receivers = table_.receivers(e, from);
    if (receivers.empty()) return;
    // Encoded at most once, the same bytes queued on every receiving link.
    std::string encoded;
    if (frame.empty()) frame = encoded = ipc::encode(ipc::toRoute(e));
    for (LinkId link : receivers) sendTo(link, frame);
  }

  void sendTo(LinkId link, std::string_view frame) {
    Connection* c = links_.connection(link);
    if (c && c->send(frame) != SendStatus::Dropped) {
      stats_.delivered++;
    } else {
      stats_.dropped++;
    }
  }

  void ask(LinkId link, const ipc::BusAsk& a) {
    if (a.question < 0 || a.question > static_cast<std::int64_t>(BusQuestion::GroupUids)) return;
    const auto q = static_cast<BusQuestion>(a.question);
    const std::uint64_t ms =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(std::max<std::int64_t>(a.timeout_ms, 1)),
                                static_cast<std::uint64_t>(ctx_.bus.query_timeout.count()));
    const std::uint64_t id =
        table_.startQuery(link, static_cast<std::uint64_t>(a.id), q, loop_.now() + ms);
    stats_.queries++;
    askLinks(id, q, a.name);
    if (redis_) redis_->ask(id, q, a.name, ms);
    if (auto done = table_.poll(id)) return finish(*done);
    Timer::delay(static_cast<double>(ms) / 1000.0, [this] { expire(); });
  }

  void askLinks(std::uint64_t id, BusQuestion q, const std::string& name) {
    ipc::BusAsk out;
    out.id = static_cast<std::int64_t>(id);
    out.question = static_cast<std::int64_t>(q);
    out.name = name;
    const std::string frame = ipc::encode(out);
    for (LinkId l : table_.linkIds()) sendTo(l, frame);
  }

  // A query from another node: asked of the local workers, answered when they all replied
  // or at the deadline.
  void remoteAsk(BusQuestion q, const std::string& name, std::uint64_t ms,
                 std::function<void(const BusAnswer&, int)> answer) {
    const std::uint64_t id = table_.startQuery(0, 0, q, loop_.now() + ms);
    remote_answers_[id] = std::move(answer);
    askLinks(id, q, name);
    if (auto done = table_.poll(id)) return finish(*done);
    Timer::delay(static_cast<double>(ms) / 1000.0, [this] { expire(); });
  }

  void expire() {
    for (const auto& done : table_.expire(loop_.now())) finish(done);
  }

  void finish(const BusTable::Done& d) {
    if (d.asker == 0) {
      auto it = remote_answers_.find(d.id);
      if (it == remote_answers_.end()) return;
      it->second(d.answer, d.replied);
      remote_answers_.erase(it);
      return;
    }
    ipc::BusReply reply;
    reply.id = static_cast<std::int64_t>(d.asker_query);
    reply.count = static_cast<std::int64_t>(d.answer.count);
    reply.items = d.answer.items;
    reply.replied = d.replied;
    reply.asked = d.asked;
    sendTo(d.asker, ipc::encode(reply));
  }

  void report() {
    ipc::BusStats s;
    s.memory_kb = static_cast<std::int64_t>(residentKiB());
    s.links = static_cast<std::int64_t>(table_.links());
    s.interests = static_cast<std::int64_t>(table_.interestCount());
    s.routed = static_cast<std::int64_t>(stats_.routed);
    s.delivered = static_cast<std::int64_t>(stats_.delivered);
    s.dropped = static_cast<std::int64_t>(stats_.dropped);
    s.queries = static_cast<std::int64_t>(stats_.queries);
    s.unreadable = static_cast<std::int64_t>(stats_.unreadable);
    for (const auto& [id, link] : links_.connections()) {
      s.queued += static_cast<std::int64_t>(link->bufferedAmount());
    }
    s.node = ctx_.node;
    s.fds = static_cast<std::int64_t>(openFds());
    s.loop_lag_us = lag_.tick();
    if (redis_) redis_->fill(s);
    send(s);
  }

  struct Stats {
    std::uint64_t routed = 0, delivered = 0, dropped = 0, queries = 0, unreadable = 0;
  };

  BusProcessContext ctx_;
  Loop loop_;
  Worker channel_;
  Worker links_{"unix://" + busSocketPath(ctx_.daemon.run_dir)};
  ConnectionId up_ = 0;
  BusTable table_;
  std::unique_ptr<RedisBridge> redis_;
  std::map<std::uint64_t, std::function<void(const BusAnswer&, int)>> remote_answers_;
  Stats stats_;
  bool stopping_ = false;
  LoopLag lag_{std::chrono::seconds(1)};
};

}  // namespace

std::string busSocketPath(const std::string& run_dir) {
  return run_dir + "/bus.sock";
}

void runBusProcess(const BusProcessContext& ctx) {
  detachChild(ctx.master_pid, {0, 1, 2, ctx.channel_fd, ctx.listen_fd});
  std::string reason;
  if (dropPrivileges(ctx.daemon.user, ctx.daemon.group, &reason)) {
    logger().error("bus: cannot drop privileges: {}", reason);
    std::_Exit(1);
  }
  int status = 1;
  {
    BusProcess process(ctx);
    status = process.run();
  }
  std::fflush(nullptr);
  std::_Exit(status);
}

}  // namespace wman::daemon
