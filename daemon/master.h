// The master process: binds every listener and holds it, forks the workers, supervises
// them (respawn with back-off, heartbeat), swaps generations on reload, answers the control
// socket, and stops the tree. It never handles traffic itself.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connections_query.h"
#include "control_server.h"
#include "ipc.h"
#include "json_doc.h"
#include "listen_socket.h"
#include "liveness.h"
#include "loop_lag.h"
#include "metrics_format.h"
#include "metrics_server.h"
#include "sd_notify.h"
#include "socket_activation.h"
#include "wman/config.h"
#include "wman/loop.h"
#include "wman/worker.h"
#include "worker_spec.h"

namespace wman::daemon {

struct MasterOptions {
  std::shared_ptr<const Config> config;  // validated; config->path empty in pure library mode
  std::vector<Worker*> code_workers;     // library mode: Workers defined in code
  // Reports the start-up verdict (all workers ready, or why not) to whoever waits for it:
  // the foreground parent of `start -d`. Called once.
  std::function<void(bool ok, const std::string& message)> on_started;
  // The service manager's notify socket (READY=1, RELOADING=1, STOPPING=1...); inert when
  // not run by one.
  SystemdNotifier notifier;
  // Sockets passed by socket activation; a listener whose worker name (FileDescriptorName=)
  // or address matches one serves from it instead of binding.
  std::vector<ActivatedSocket> activated;
};

class Master {
 public:
  explicit Master(MasterOptions options);
  ~Master();

  // Binds, forks the first generation and runs until stopped. Returns the exit status.
  int run();

  // Path of the control socket for `run_dir`.
  static std::string controlSocketPath(const std::string& run_dir);

 private:
  enum class ProcState { Starting, Ready, Stopping };

  struct Group {
    WorkerSpec spec;
    std::shared_ptr<ListenSocketSet> sockets;
    int generation = 0;
    struct Slot {
      pid_t pid = 0;
      int restarts = 0;
      int crashes = 0;               // consecutive crashes, reset after a healthy run
      std::uint64_t respawn_at = 0;  // loop ms; 0 = none pending
      std::string last_exit;         // how its last process ended, or why none could start
    };
    std::vector<Slot> slots;
  };

  struct Proc {
    pid_t pid = 0;
    std::shared_ptr<Group> group;
    int slot = 0;
    int generation = 0;
    ConnectionId channel = 0;
    ProcState state = ProcState::Starting;
    bool retiring = false;  // replaced by a reload or being stopped: its exit is expected
    bool accepting = true;  // false once it said it closed its listeners ("retired")
    std::uint64_t started_at = 0;
    // monotonicMs() when the master last read anything from it (or forked it): any message
    // is a sign of life, not only a heartbeat.
    std::uint64_t last_heard = 0;
    std::uint64_t abort_sent_at = 0;
    std::string failure;  // what the worker reported before exiting during start-up
    bool warned = false;  // an unreadable message from it was logged (once per process)
    std::optional<ipc::Heartbeat> stats;  // its last heartbeat; none yet right after start
    double qps = 0;
    std::int64_t last_messages = 0;
    std::uint64_t last_messages_at = 0;
  };

  struct PendingReload {
    int generation = 0;
    bool graceful = false;
    bool initial = false;
    std::uint64_t deadline = 0;
    std::vector<std::shared_ptr<Group>> groups;
    std::shared_ptr<const Config> config;
    std::vector<std::string> new_socket_keys;
    // reuse_port sets this generation added clones to, with their size before.
    std::vector<std::pair<std::shared_ptr<ListenSocketSet>, std::size_t>> grown;
    std::vector<ConnectionId> waiters;
    int metrics_id = 0;  // the operations endpoint's new listener, if its address changed
  };

  // Set-up and the generation swap.
  bool buildGroups(PendingReload& r, std::string& error);
  void beginGeneration(std::shared_ptr<PendingReload> r);
  void checkGenerationReady();
  void commitGeneration();
  void failGeneration(const std::string& reason);
  // Sends each committed reload's answer once no older worker accepts any more (or at its
  // deadline, should a retiring worker never say so).
  void answerSwaps(std::uint64_t now);
  void reload(bool graceful, ConnectionId waiter);
  void undoSockets(PendingReload& r);
  // The verdict `status` shows as last_reload.
  void recordReload(bool ok, const std::string& message);
  // A dup of the activated socket for `spec`, or -1 when none matches.
  int adoptActivated(const WorkerSpec& spec);
  void closeUnusedActivated();

  // The service manager: STATUS= with the worker count and the last reload's verdict, and
  // EXTEND_TIMEOUT_USEC= while a start, reload or stop runs towards its own deadline.
  void notifyState(const std::string& assignments);
  std::string statusLine() const;
  // Ready workers of the serving generation, and a sentence saying how many serve now (for
  // a refused or failed reload, which must not claim workers that are not there).
  std::size_t servingReady() const;
  std::string servingNow() const;
  void extendTimeout();

  // Processes.
  // Forks the worker of `slot`; on failure returns false with what failed in `error`.
  bool spawn(const std::shared_ptr<Group>& group, int slot, int generation, std::string* error);
  // Starts the slot's next process, or logs why it cannot and retries after its back-off.
  void respawn(const std::shared_ptr<Group>& group, int slot);
  void reap();
  void onExit(pid_t pid, int status);
  void tick();
  // The supervision part of tick(): respawns due, heartbeats, the reload and stop deadlines.
  void superviseTick(std::uint64_t now);
  // Aborts the ready workers judgeWorker() finds hung (liveness.h).
  void abortHungWorkers(std::uint64_t now);
  void sendStop(Proc& p, const std::string& mode, std::int64_t timeout_ms);
  void sendTo(const Proc& p, const ipc::Message& msg);
  void onChannelMessage(Connection& c, std::string_view frame);
  // What each worker->master message does; a master->worker one arriving here is logged.
  void onWorkerMessage(Proc& p, const ipc::Message& msg, std::uint64_t now);
  void onHeartbeat(Proc& p, const ipc::Heartbeat& hb, std::uint64_t now);

  // Control socket and stop. onControl() runs each well-formed request; reply() answers it.
  void onControl(ConnectionId client, const Json& req);
  void reply(ConnectionId client, const Json& msg);
  Json status() const;
  // status() rows: one live process, and one configured slot that has no process now.
  Json processRow(const Proc& p) const;
  Json slotRow(const Group& g, std::size_t index) const;
  void collectConnections(ConnectionId client, const Json& req);
  // Stops the tree ("drain" or "fast"). `waiter` (a control client, or 0) gets progress lines
  // {"stopping":true,"deadline_ms":...} at once and every second, then the verdict.
  void stop(const std::string& mode, ConnectionId waiter);
  void finishStop();
  // Closes the master's copies of every listening socket (workers close theirs as they stop).
  void closeListeners();
  void reportStopProgress(ConnectionId waiter);
  void reopenLogs();

  // The operations endpoint (master_metrics.cpp). prepareMetrics() opens the listener a
  // generation's config asks for when it differs from the one in use (false with the reason
  // when it cannot bind); applyMetrics() swaps to it as the generation commits.
  bool prepareMetrics(PendingReload& r, std::string* error);
  void applyMetrics(const PendingReload& r);
  Readiness readiness() const;
  std::string metricsText() const;
  void masterMetrics(MetricsText& m) const;
  void workerMetrics(MetricsText& m) const;
  void processMetrics(MetricsText& m, const std::function<MetricLabels(const Proc&)>& labels) const;
  void busMetrics(MetricsText& m) const;

  // The bus (master_bus.cpp): its socket, its process, `wman send`, its status.
  bool startBus(std::string* error);
  bool spawnBus(std::string* error);
  // True if `pid` was the bus process (then handled: respawned with back-off).
  bool busExited(pid_t pid, const std::string& how);
  void superviseBus(std::uint64_t now);
  void stopBus();
  void onBusMessage(const ipc::Message& msg);
  void sendFromControl(ConnectionId client, const Json& req);
  Json busStatus() const;

  MasterOptions opts_;
  std::shared_ptr<const Config> config_;
  Loop loop_;
  Worker control_;
  Worker channels_;
  std::vector<std::shared_ptr<Group>> groups_;
  std::map<std::string, std::shared_ptr<ListenSocketSet>> sockets_;
  std::map<pid_t, Proc> procs_;
  std::map<ConnectionId, pid_t> channel_pids_;
  std::shared_ptr<PendingReload> reload_;
  struct SwapAnswer {
    int generation = 0;
    std::uint64_t deadline = 0;
    Json reply;
    std::vector<ConnectionId> waiters;
  };
  std::vector<SwapAnswer> swap_answers_;
  int generation_ = 0;
  Json last_reload_;
  std::int64_t start_time_ = 0;
  std::uint64_t started_ms_ = 0;
  bool stopping_ = false;
  std::string stop_mode_;
  std::uint64_t stop_deadline_ = 0;
  std::vector<ConnectionId> stop_waiters_;
  std::size_t killed_at_stop_ = 0;  // workers SIGKILLed at the stop deadline
  std::uint64_t last_stop_report_ms_ = 0;
  int exit_status_ = 0;
  std::string socket_path_;
  // The control socket's limits and framing, and the `connections` queries in flight.
  ControlServer control_server_;
  ConnectionsQueries conn_queries_;
  std::vector<bool> activated_used_;
  struct BusProc {
    std::string node;
    std::string socket;
    int listen_fd = -1;
    pid_t pid = 0;
    ConnectionId channel = 0;
    bool ready = false;
    std::uint64_t started_at = 0;
    std::uint64_t respawn_at = 0;
    int restarts = 0;
    int crashes = 0;
    std::string last_exit;
    std::optional<ipc::BusStats> stats;
  } bus_;
  std::uint64_t last_extend_ms_ = 0;
  MetricsServer metrics_;
  struct CertExpiry {
    std::string worker;
    std::string listen;
    std::int64_t not_after = 0;  // seconds since the epoch
  };
  std::vector<CertExpiry> cert_expiry_;  // read as each generation commits
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  LoopLag master_lag_;
  std::int64_t master_lag_us_ = 0;
  // The master's own stalls: after one, workers get a grace before they are judged.
  MasterStallGuard stall_guard_;
};

}  // namespace wman::daemon
