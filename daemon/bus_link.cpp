#include "bus_link.h"

#include <unistd.h>

#include <spdlog/spdlog.h>
#include "ipc.h"

#include "wman/logging.h"

namespace wman::daemon {

BusLink::BusLink(std::string socket, std::size_t max_queue)
    : socket_(std::move(socket)), max_queue_(max_queue) {}

BusLink::~BusLink() {
  stop();
}

void BusLink::start() {
  AsyncConnectionOptions o;
  // The bus process is on this machine: it answers at once or is being respawned by the
  // master, so retry soon and often.
  o.auto_reconnect = true;
  o.reconnect_min = 0.05;
  o.reconnect_max = 1.0;
  o.connect_timeout = 2.0;
  o.max_message_size = max_queue_;
  o.protocol = "frame";
  conn_ = std::make_unique<AsyncConnection>("unix://" + socket_, o);
  conn_->maxSendBuffer = max_queue_;
  conn_->onConnect = [this](Connection&) { hello(); };
  conn_->onMessage = [this](Connection&, Message m) { received(m.view()); };
  conn_->connect();
  setBusBackend(this);
}

void BusLink::stop() {
  if (!conn_) return;
  setBusBackend(nullptr);
  conn_.reset();
}

bool BusLink::up() const {
  return conn_ && conn_->state() == ConnectionState::Established;
}

void BusLink::sendFrame(const std::string& frame) {
  if (!up() || conn_->send(frame) == SendStatus::Dropped) dropped_++;
}

void BusLink::hello() {
  ipc::BusHello h;
  h.incarnation = ipc::hex(busIncarnation());
  h.pid = ::getpid();
  for (auto& [target, name] : busInterests()) {
    h.interests.push_back(ipc::BusInterestItem{static_cast<std::int64_t>(target), name});
  }
  sendFrame(ipc::encode(h));
}

void BusLink::forward(const BusEnvelope& e) {
  // While the bus process restarts there is nobody to take it: dropped and counted (the
  // bus promises at most once, never a queue that grows without bound).
  if (!up()) {
    dropped_++;
    return;
  }
  sendFrame(ipc::encode(ipc::toRoute(e)));
}

void BusLink::interest(BusTarget target, std::string_view name, bool on) {
  // A link that comes up later announces everything in its hello.
  if (!up()) return;
  ipc::BusInterest i;
  i.target = static_cast<std::int64_t>(target);
  i.name = std::string(name);
  i.on = on;
  sendFrame(ipc::encode(i));
}

void BusLink::ask(std::uint64_t id, BusQuestion q, std::string_view name,
                  std::uint64_t timeout_ms) {
  if (!up()) {
    // Nobody else can be asked now: this process's own answer, marked partial.
    busAnswered(id, busAnswerHere(q, name), 1, 2);
    return;
  }
  ipc::BusAsk a;
  a.id = static_cast<std::int64_t>(id);
  a.question = static_cast<std::int64_t>(q);
  a.name = std::string(name);
  a.timeout_ms = static_cast<std::int64_t>(timeout_ms);
  sendFrame(ipc::encode(a));
}

void BusLink::received(std::string_view frame) {
  std::string why;
  auto msg = ipc::decode(frame, &why);
  if (!msg) {
    logger().warn("bus link: unreadable message from the bus: {}", why);
    return;
  }
  if (const auto* r = std::get_if<ipc::BusRoute>(&*msg)) {
    busDeliver(ipc::fromRoute(*r));
  } else if (const auto* a = std::get_if<ipc::BusAsk>(&*msg)) {
    // The bus asks every process; this is our part of the answer.
    const BusAnswer here = busAnswerHere(static_cast<BusQuestion>(a->question), a->name);
    ipc::BusReply reply;
    reply.id = a->id;
    reply.count = static_cast<std::int64_t>(here.count);
    reply.items = here.items;
    sendFrame(ipc::encode(reply));
  } else if (const auto* r = std::get_if<ipc::BusReply>(&*msg)) {
    BusAnswer answer{static_cast<std::size_t>(r->count), r->items};
    busAnswered(static_cast<std::uint64_t>(r->id), std::move(answer), static_cast<int>(r->replied),
                static_cast<int>(r->asked));
  }
}

}  // namespace wman::daemon
