#include "worker_process.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <spdlog/spdlog.h>

#include "bus_link.h"
#include "child_setup.h"
#include "connection_pages.h"
#include "ipc.h"
#include "loop_lag.h"
#include "privileges.h"
#include "wman/app_module.h"
#include "wman/logging.h"
#include "wman/loop.h"
#include "wman/process_memory.h"
#include "wman/protocol_registry.h"
#include "wman/serve.h"
#include "wman/timer.h"

namespace wman::daemon {
namespace {

const char* stateName(ConnectionState s) {
  switch (s) {
    case ConnectionState::Established:
      return "established";
    case ConnectionState::Closing:
      return "closing";
    case ConnectionState::Closed:
      return "closed";
    case ConnectionState::Connecting:
      return "connecting";
  }
  return "unknown";
}

class WorkerProcess {
 public:
  explicit WorkerProcess(const WorkerProcessContext& ctx) : ctx_(ctx) {}

  int run() {
    Worker* worker = ctx_.spec.code;
    std::unique_ptr<Worker> owned;
    channel_.setProtocol("frame");
    channel_.name = "master-channel";
    channel_.onMessage = [this](Connection&, Message m) { command(m.view()); };
    // The master went away (or closed the channel): nobody would supervise us any more.
    channel_.onClose = [this](Connection&) {
      if (!stopping_) stop("fast", 0);
    };
    if (auto ec = loop_.startWorker(channel_)) return 1;
    std::error_code ec;
    Connection* up = loop_.adopt(channel_, ctx_.channel_fd, ec);
    if (!up) return 1;
    up_ = up->id();

    std::string error;
    if (!worker) {
      owned = std::make_unique<Worker>(ctx_.spec.listen);
      worker = owned.get();
    }
    // Before any of the worker's code runs: an app module's setup may already ask which slot
    // it serves. A Worker defined in code (library mode) was built before the fork, in the
    // master, which could not know the slot yet.
    worker->setId(ctx_.slot);
    // Linked before the worker's code runs, so onWorkerStart may already use the bus.
    if (!ctx_.bus_socket.empty()) {
      setBusIdentity(ctx_.bus_node, busIncarnation());
      bus_ = std::make_unique<BusLink>(ctx_.bus_socket, ctx_.bus_max_queue);
      bus_->start();
    }
    if (owned && !configure(*worker, &error)) return fail(error);
    worker_ = worker;
    // Several processes accepting from one shared socket: libuv's default drains the whole
    // queue in whichever process wakes first, so one worker would take nearly every
    // connection. Single-accept mode yields after each accept and spreads them.
    if (!ctx_.spec.reuse_port && ctx_.spec.count > 1) ::setenv("UV_TCP_SINGLE_ACCEPT", "1", 1);
    const int first = ctx_.listen_fds.empty() ? -1 : ctx_.listen_fds[0];
    if (auto lec = loop_.startWorker(*worker, first)) {
      return fail(error.empty() ? "cannot serve " + worker->url() + ": " + lec.message() : error);
    }
    for (std::size_t i = 1; i < ctx_.listen_fds.size(); ++i) {
      if (auto lec = loop_.addListener(*worker, ctx_.listen_fds[i])) {
        return fail("cannot serve " + worker->url() + ": " + lec.message());
      }
    }
    send(ipc::Ready{::getpid()});
    Timer::add(1.0, [this] { heartbeat(); });
    heartbeat();
    loop_.run();
    return 0;
  }

 private:
  // Gives a Worker built from a [[worker]] table its settings and its app (built-in or
  // module). False, with the reason in `error`, if the app cannot be loaded.
  bool configure(Worker& worker, std::string* error) {
    const WorkerConfig& t = *ctx_.spec.table;
    worker.name = t.name;
    worker.count = t.count;
    worker.reusePort = t.reuse_port;
    worker.limits = t.limits;
    worker.options = t.options;
    worker.websocket = t.websocket;
    worker.http = t.http;
    // unix:// and udp:// listeners may speak another codec than their scheme's raw bytes.
    if (t.url.protocol != worker.protocol()) worker.setProtocol(t.url.protocol);
    if (t.transport == "tls") worker.tls = t.tls;
    try {
      if (installBuiltinApp(t.app, worker)) return true;
    } catch (const std::exception& e) {
      *error = e.what();  // a built-in app's options were unusable (forward's upstream)
      return false;
    }
    return loadAppModule(t.app, worker, error);
  }

  int fail(const std::string& why) {
    send(ipc::Failed{why});
    stopping_ = true;
    if (bus_) bus_->stop();
    loop_.stopWorker(channel_, true, [this] { loop_.shutdown(); });
    loop_.run();
    return 1;
  }

  // Straight to the kernel when nothing is queued before it, not in the loop's flush pass:
  // that pass writes every connection with output queued in this iteration first (after a
  // `send --all`, some 16,000 writes, tens of seconds on a starved machine), and the master
  // kills a worker it does not hear from. With output already queued, it goes behind it.
  void send(const ipc::Message& msg) {
    Connection* c = channel_.connection(up_);
    // Past Established the socket may be closed already and its number reused.
    if (!c || c->state() != ConnectionState::Established) return;
    std::string frame;
    frame_codec_->encode(asBytes(ipc::encode(msg)), frame_codec_->defaultKind(), frame);
    std::string_view rest = frame;
    if (c->bufferedAmount() == 0) {
      const ssize_t n =
          ::send(ctx_.channel_fd, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) rest.remove_prefix(static_cast<std::size_t>(n));
    }
    // The rest of a partial write, or all of it (a full channel, an error the loop's own
    // write then reports by closing the channel).
    if (!rest.empty()) c->sendRaw(rest);
  }

  void heartbeat() {
    if (!worker_) return;
    const WorkerStats& st = worker_->stats();
    ipc::Heartbeat hb;
    hb.memory_kb = static_cast<std::int64_t>(residentKiB());
    hb.connections = static_cast<std::int64_t>(worker_->connections().size());
    hb.messages = static_cast<std::int64_t>(st.messages);
    hb.send_fail = static_cast<std::int64_t>(st.send_fail);
    hb.timers = static_cast<std::int64_t>(Timer::count() - 1);
    hb.protocol_errors = static_cast<std::int64_t>(st.protocol_errors);
    hb.callback_errors = static_cast<std::int64_t>(st.callback_errors);
    hb.accept_failures = static_cast<std::int64_t>(st.accept_failures);
    hb.log_suppressed = static_cast<std::int64_t>(st.log_suppressed);
    if (bus_) hb.bus_dropped = static_cast<std::int64_t>(bus_->dropped());
    hb.shed = static_cast<std::int64_t>(st.shed);
    hb.udp_in = static_cast<std::int64_t>(st.udp_in);
    hb.udp_out = static_cast<std::int64_t>(st.udp_out);
    hb.udp_dropped = static_cast<std::int64_t>(st.udp_dropped);
    std::int64_t* http[] = {&hb.http_1xx, &hb.http_2xx, &hb.http_3xx, &hb.http_4xx, &hb.http_5xx};
    for (std::size_t i = 0; i < 5; ++i) *http[i] = static_cast<std::int64_t>(st.http_responses[i]);
    hb.accepting = st.accepting;
    hb.accepted = static_cast<std::int64_t>(st.accepted);
    hb.messages_out = static_cast<std::int64_t>(st.messages_out);
    hb.bytes_in = static_cast<std::int64_t>(st.bytes_in);
    hb.bytes_out = static_cast<std::int64_t>(st.bytes_out);
    hb.fds = static_cast<std::int64_t>(openFds());
    hb.loop_lag_us = lag_.tick();
    send(hb);
  }

  void command(std::string_view frame) {
    std::string why;
    std::optional<ipc::Message> msg = ipc::decode(frame, &why);
    if (!msg) return unreadable(why);
    std::visit(ipc::Overloaded{
                   [this](const ipc::Stop& m) { stop(m.mode, m.timeout_ms); },
                   [this](const ipc::ConnectionsRequest& m) { answerConnections(m); },
                   [this](const ipc::ConnectionsEnd& m) { pages_.cancel(m.req); },
                   [](const ipc::ReopenLogs&) { reopenLogs(); },
                   [this](const auto& other) {
                     unreadable("unexpected \"" + std::string(other.kTag) + "\" from the master");
                   },
               },
               *msg);
  }

  // Logged once per process: the master and this worker run the same build, so one bad
  // frame means a bug, and repeating it every second would bury the log.
  void unreadable(const std::string& why) {
    if (warned_) return;
    warned_ = true;
    logger().warn("worker {} slot {}: ignoring a channel message: {}", ctx_.spec.name, ctx_.slot,
                  why);
  }

  // One bounded page per request: the master asks for the next one when it has room.
  void answerConnections(const ipc::ConnectionsRequest& request) {
    if (!worker_) return;
    auto ids = [this] {
      std::vector<ConnectionId> out;
      out.reserve(worker_->connections().size());
      for (const auto& [id, c] : worker_->connections()) out.push_back(id);
      return out;
    };
    auto row = [this](ConnectionId id) -> std::optional<ipc::ConnectionRow> {
      Connection* c = worker_->connection(id);
      if (!c) return std::nullopt;
      ipc::ConnectionRow r;
      r.id = static_cast<std::int64_t>(id);
      r.protocol = worker_->protocol();
      r.local = c->localAddress();
      r.remote = c->remoteAddress();
      r.bytes_in = static_cast<std::int64_t>(c->bytesRead());
      r.bytes_out = static_cast<std::int64_t>(c->bytesWritten());
      r.send_queue = static_cast<std::int64_t>(c->bufferedAmount());
      r.state = stateName(c->state());
      return r;
    };
    send(pages_.answer(request, ids, row));
  }

  // mode: "fast" (drop connections), "close" (flush then close), "drain" (let them end,
  // closing what is left after timeout_ms).
  void stop(const std::string& mode, std::int64_t timeout_ms) {
    if (stopping_) {
      if (mode == "fast" && worker_) loop_.stopWorker(*worker_, false, nullptr);
      return;
    }
    stopping_ = true;
    // The master answers `wman reload` once every retiring worker said this, so a client that
    // connects after the reload returned reaches the new generation. Sent before the calls
    // below because they may close the channel; nothing is accepted in between, as the
    // listeners close within this same callback.
    send(ipc::Retired{});
    // The bus link stays until the last connection is gone: a draining worker still
    // receives bus messages for its connections.
    auto done = [this] {
      if (bus_) bus_->stop();
      loop_.stopWorker(channel_, true, [this] { loop_.shutdown(); });
    };
    if (!worker_) {
      done();
      return;
    }
    if (mode == "drain") {
      loop_.drainWorker(*worker_, done);
    } else {
      loop_.stopWorker(*worker_, mode != "fast", done);
    }
    if (mode != "fast") {
      // Whatever has not finished by the deadline is dropped. A retiring generation ("close")
      // lets connections caught in their handshake finish it first, so its deadline is at
      // least handshake_timeout.
      if (mode == "close")
        timeout_ms = std::max<std::int64_t>(timeout_ms, worker_->limits.handshake_timeout.count());
      Timer::add(
          static_cast<double>(timeout_ms) / 1000.0,
          [this] { loop_.stopWorker(*worker_, false, nullptr); }, false);
    }
  }

  WorkerProcessContext ctx_;
  Loop loop_;
  Worker channel_;
  Worker* worker_ = nullptr;
  ConnectionId up_ = 0;
  bool stopping_ = false;
  LoopLag lag_{std::chrono::seconds(1)};
  bool warned_ = false;    // an unreadable channel message was logged
  ConnectionPages pages_;  // `wman connections` snapshots being served
  // Encodes what send() writes to the channel itself, as the channel's own codec would.
  std::unique_ptr<Codec> frame_codec_ = ProtocolRegistry::create("frame", CodecLimits{});
  std::unique_ptr<BusLink> bus_;
};

}  // namespace

void runWorkerProcess(const WorkerProcessContext& ctx) {
  std::set<int> keep{0, 1, 2, ctx.channel_fd};
  keep.insert(ctx.listen_fds.begin(), ctx.listen_fds.end());
  detachChild(ctx.master_pid, keep);
  std::string reason;
  if (dropPrivileges(ctx.daemon.user, ctx.daemon.group, &reason)) {
    logger().error("worker {} slot {}: cannot drop privileges: {}", ctx.spec.name, ctx.slot,
                   reason);
    std::_Exit(1);
  }
  int status = 1;
  {
    WorkerProcess process(ctx);
    status = process.run();
  }
  std::fflush(nullptr);
  std::_Exit(status);
}

}  // namespace wman::daemon
