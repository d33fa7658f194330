// The master's side of the operations endpoint: opening and swapping its listener with the
// generations, /readyz's verdict, and the /metrics text. Everything here reads what the
// master holds already (the last heartbeat of each worker and of the bus, its own tables);
// nothing waits on another process.
#include <unistd.h>

#include <array>
#include <string>

#include "master.h"
#include "master_internal.h"
#include "metrics_format.h"
#include "wman/process_memory.h"
#include "wman/tls.h"

namespace wman::daemon {

using namespace detail;

namespace {

template <class Stats>
struct Counted {
  std::string_view name;
  MetricType type;
  std::string_view help;
  std::int64_t Stats::*field;
};

constexpr auto C = MetricType::Counter;
constexpr auto G = MetricType::Gauge;

// Per worker process, from its heartbeat.
constexpr Counted<ipc::Heartbeat> kWorkerMetrics[] = {
    {"wman_connections", G, "Connections the worker process holds now.",
     &ipc::Heartbeat::connections},
    {"wman_connections_accepted_total", C, "Connections accepted.", &ipc::Heartbeat::accepted},
    {"wman_messages_received_total", C, "Messages delivered to onMessage.",
     &ipc::Heartbeat::messages},
    {"wman_messages_sent_total", C, "Sends queued to peers (fan-out copies included).",
     &ipc::Heartbeat::messages_out},
    {"wman_received_bytes_total", C, "Bytes read from peers, as received (TLS included).",
     &ipc::Heartbeat::bytes_in},
    {"wman_sent_bytes_total", C, "Bytes written to peers, as sent (TLS included).",
     &ipc::Heartbeat::bytes_out},
    {"wman_send_drops_total", C, "Sends dropped because the peer's send buffer was full.",
     &ipc::Heartbeat::send_fail},
    {"wman_protocol_errors_total", C,
     "Peers closed for bad input: protocol and TLS errors, refused handshakes.",
     &ipc::Heartbeat::protocol_errors},
    {"wman_callback_errors_total", C, "Exceptions thrown by application callbacks.",
     &ipc::Heartbeat::callback_errors},
    {"wman_accept_failures_total", C, "Failed accepts (out of fds) and refused connection set-ups.",
     &ipc::Heartbeat::accept_failures},
    {"wman_connections_shed_total", C, "Connections closed by the worker's memory budget.",
     &ipc::Heartbeat::shed},
    {"wman_log_lines_suppressed_total", C, "Per-peer log lines the rate limit suppressed.",
     &ipc::Heartbeat::log_suppressed},
    {"wman_bus_send_drops_total", C, "Bus sends the worker could not hand to the bus process.",
     &ipc::Heartbeat::bus_dropped},
    {"wman_timers", G, "Timers the application has running.", &ipc::Heartbeat::timers},
    {"wman_udp_datagrams_received_total", C, "Datagrams a udp:// worker received.",
     &ipc::Heartbeat::udp_in},
    {"wman_udp_datagrams_sent_total", C, "Datagrams a udp:// worker sent.",
     &ipc::Heartbeat::udp_out},
    {"wman_udp_datagrams_dropped_total", C,
     "Datagrams lost: undecodable, refused on send, or dropped with the receive queue full.",
     &ipc::Heartbeat::udp_dropped},
};

// The bus process, from its last report.
constexpr Counted<ipc::BusStats> kBusMetrics[] = {
    {"wman_bus_links", G, "Worker processes linked to the bus.", &ipc::BusStats::links},
    {"wman_bus_interests", G, "Uids, groups and channels this node holds receivers for.",
     &ipc::BusStats::interests},
    {"wman_bus_routed_messages_total", C, "Messages handed to the bus.", &ipc::BusStats::routed},
    {"wman_bus_delivered_messages_total", C, "Copies queued to receiving workers.",
     &ipc::BusStats::delivered},
    {"wman_bus_dropped_messages_total", C, "Copies dropped: a worker's link queue full or gone.",
     &ipc::BusStats::dropped},
    {"wman_bus_queries_total", C, "Queries (isUidOnline, counts, lists) answered.",
     &ipc::BusStats::queries},
    {"wman_bus_queued_bytes", G, "Bytes waiting on the links to the workers.",
     &ipc::BusStats::queued},
    {"wman_bus_unreadable_messages_total", C, "Messages from links that could not be decoded.",
     &ipc::BusStats::unreadable},
    {"wman_bus_redis_published_messages_total", C, "Messages published to Redis.",
     &ipc::BusStats::redis_published},
    {"wman_bus_redis_received_messages_total", C, "Messages received from Redis.",
     &ipc::BusStats::redis_received},
    {"wman_bus_redis_dropped_messages_total", C, "Publishes refused while Redis was down or slow.",
     &ipc::BusStats::redis_dropped},
    {"wman_bus_redis_reconnects_total", C, "Reconnections to Redis.",
     &ipc::BusStats::redis_reconnects},
    {"wman_bus_redis_channels", G, "Redis channels subscribed.", &ipc::BusStats::redis_channels},
};

// A process's ProcState (Starting, Ready, Stopping) indexes the first three.
constexpr std::array<std::string_view, 5> kSlotStates = {"starting", "ready", "stopping", "backoff",
                                                         "down"};
constexpr std::array<std::string_view, 4> kRedisStates = {"off", "down", "connecting", "up"};

std::int64_t i64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

}  // namespace

bool Master::prepareMetrics(PendingReload& r, std::string* error) {
  const MetricsEndpoint wanted = metricsEndpoint(r.config->daemon);
  if (wanted.address.empty()) return true;
  // An unchanged address keeps its socket (and its port, when the config says 0).
  if (const MetricsEndpoint* now = metrics_.endpoint(); now && *now == wanted) return true;
  r.metrics_id = metrics_.open(wanted, error);
  return r.metrics_id != 0;
}

void Master::applyMetrics(const PendingReload& r) {
  const DaemonConfig& d = r.config->daemon;
  if (r.metrics_id != 0) {
    metrics_.use(r.metrics_id);
  } else if (d.metrics.empty()) {
    metrics_.use(0);
  }
  metrics_.setToken(d.metrics_token);
  // Read once per generation: a scrape must not touch the disk.
  cert_expiry_.clear();
  std::string why;
  for (const auto& g : groups_) {
    const TlsConfig* tls = g->spec.code    ? &g->spec.code->tls
                           : g->spec.table ? &g->spec.table->tls
                                           : nullptr;
    if (!tls || !tls->enabled()) continue;
    if (auto t = tlsCertificateExpiry(*tls, &why)) {
      cert_expiry_.push_back({g->spec.name, g->spec.listen, *t});
    } else {
      log().warn("worker {}: cannot read its certificate's expiry: {}", g->spec.name, why);
    }
  }
  if (const MetricsEndpoint* e = metrics_.endpoint(); e && e->tls.enabled()) {
    if (auto t = tlsCertificateExpiry(e->tls, &why)) {
      cert_expiry_.push_back({"metrics", "https://" + metrics_.boundAddress(), *t});
    }
  }
}

Readiness Master::readiness() const {
  if (stopping_) return {false, "not ready: stopping (" + stop_mode_ + ")"};
  if (groups_.empty()) return {false, "not ready: starting"};
  std::size_t total = 0;
  for (const auto& g : groups_) total += g->slots.size();
  const std::size_t ready = servingReady();
  const std::string count = std::to_string(ready) + "/" + std::to_string(total) + " workers ready";
  return {ready == total, (ready == total ? "ready: " : "not ready: ") + count};
}

std::string Master::metricsText() const {
  MetricsText m;
  masterMetrics(m);
  workerMetrics(m);
  busMetrics(m);
  return m.text();
}

void Master::masterMetrics(MetricsText& m) const {
  m.family("wman_build_info", G, "Always 1; the version of the running master.");
  m.sample({{"version", WMAN_VERSION}}, std::int64_t{1});
  m.family("wman_start_time_seconds", G, "When the master started, seconds since the epoch.");
  m.sample({}, start_time_);
  m.family("wman_generation", G, "The newest worker generation (each reload adds one).");
  m.sample({}, std::int64_t{generation_});
  m.family("wman_ready", G, "1 when /readyz answers 200: every worker ready, not stopping.");
  m.sample({}, std::int64_t{readiness().ready ? 1 : 0});
  m.family("wman_reloads_total", C, "Reloads by outcome (refused and failed count as failed).");
  m.sample({{"result", "ok"}}, i64(reloads_ok_));
  m.sample({{"result", "failed"}}, i64(reloads_failed_));
  m.family("wman_tls_certificate_expiry_seconds", G,
           "When the first certificate a TLS listener serves expires, seconds since the epoch.");
  for (const CertExpiry& c : cert_expiry_) {
    m.sample({{"worker", c.worker}, {"listen", c.listen}}, c.not_after);
  }
}

void Master::workerMetrics(MetricsText& m) const {
  const auto labels = [](const Proc& p) {
    return MetricLabels{{"worker", p.group->spec.name},
                        {"slot", std::to_string(p.slot)},
                        {"generation", std::to_string(p.generation)}};
  };
  for (const auto& metric : kWorkerMetrics) {
    m.family(metric.name, metric.type, metric.help);
    for (const auto& [pid, p] : procs_) {
      if (p.stats) m.sample(labels(p), (*p.stats).*metric.field);
    }
  }
  m.family("wman_http_responses_total", C,
           "Responses of http:// workers by status class, refused requests (400, 408, 413, "
           "431...) included.");
  constexpr std::int64_t ipc::Heartbeat::*kHttp[] = {
      &ipc::Heartbeat::http_1xx, &ipc::Heartbeat::http_2xx, &ipc::Heartbeat::http_3xx,
      &ipc::Heartbeat::http_4xx, &ipc::Heartbeat::http_5xx};
  for (const auto& [pid, p] : procs_) {
    if (!p.stats) continue;
    for (std::size_t i = 0; i < 5; ++i) {
      MetricLabels l = labels(p);
      l.emplace_back("code", std::to_string(i + 1) + "xx");
      m.sample(l, (*p.stats).*kHttp[i]);
    }
  }
  m.family("wman_accepting", G, "1 while the worker accepts; 0 while its listener is paused.");
  for (const auto& [pid, p] : procs_) {
    if (p.stats) m.sample(labels(p), std::int64_t{p.stats->accepting ? 1 : 0});
  }
  m.family("wman_worker_restarts_total", C, "Unexpected exits of a slot's worker processes.");
  for (const auto& g : groups_) {
    for (std::size_t i = 0; i < g->slots.size(); ++i) {
      m.sample({{"worker", g->spec.name}, {"slot", std::to_string(i)}},
               std::int64_t{g->slots[i].restarts});
    }
  }
  std::array<std::int64_t, kSlotStates.size()> states{};
  for (const auto& [pid, p] : procs_) states[static_cast<std::size_t>(p.state)]++;
  for (const auto& g : stopping_ ? decltype(groups_){} : groups_) {
    for (const auto& slot : g->slots) {
      if (procs_.count(slot.pid) == 0) states[slot.respawn_at != 0 ? 3 : 4]++;
    }
  }
  m.family("wman_workers", G, "Worker processes by state, and slots without one (backoff, down).");
  for (std::size_t i = 0; i < kSlotStates.size(); ++i) {
    m.sample({{"state", std::string(kSlotStates[i])}}, states[i]);
  }
  processMetrics(m, labels);
}

void Master::processMetrics(MetricsText& m,
                            const std::function<MetricLabels(const Proc&)>& labels) const {
  const auto with = [](std::string_view process, MetricLabels rest = {}) {
    rest.insert(rest.begin(), MetricLabels::value_type{"process", std::string(process)});
    return rest;
  };
  const std::optional<ipc::BusStats>& bus = bus_.stats;
  m.family("wman_process_resident_memory_bytes", G, "Resident memory of a wman process.");
  m.sample(with("master"), i64(residentKiB() * 1024));
  if (bus) m.sample(with("bus"), bus->memory_kb * 1024);
  for (const auto& [pid, p] : procs_) {
    if (p.stats) m.sample(with("worker", labels(p)), p.stats->memory_kb * 1024);
  }
  m.family("wman_process_open_fds", G, "Open file descriptors of a wman process.");
  m.sample(with("master"), i64(openFds()));
  if (bus) m.sample(with("bus"), bus->fds);
  for (const auto& [pid, p] : procs_) {
    if (p.stats) m.sample(with("worker", labels(p)), p.stats->fds);
  }
  m.family("wman_event_loop_lag_seconds", G,
           "How late the process's periodic timer last fired: time its loop could not run.");
  m.sample(with("master"), static_cast<double>(master_lag_us_) / 1e6);
  if (bus) m.sample(with("bus"), static_cast<double>(bus->loop_lag_us) / 1e6);
  for (const auto& [pid, p] : procs_) {
    if (p.stats)
      m.sample(with("worker", labels(p)), static_cast<double>(p.stats->loop_lag_us) / 1e6);
  }
}

void Master::busMetrics(MetricsText& m) const {
  if (!config_->bus.enabled) return;
  m.family("wman_bus_up", G, "1 while the bus process runs and reports.");
  m.sample({}, std::int64_t{bus_.pid != 0 && bus_.stats ? 1 : 0});
  m.family("wman_bus_restarts_total", C, "Unexpected exits of the bus process.");
  m.sample({}, std::int64_t{bus_.restarts});
  for (const auto& metric : kBusMetrics) {
    m.family(metric.name, metric.type, metric.help);
    if (bus_.stats) m.sample({}, (*bus_.stats).*metric.field);
  }
  m.family("wman_bus_redis_state", G, "1 for the state the link to Redis is in.");
  for (std::string_view s : kRedisStates) {
    const bool now = bus_.stats ? bus_.stats->redis == s : s == "off";
    m.sample({{"state", std::string(s)}}, std::int64_t{now ? 1 : 0});
  }
}

}  // namespace wman::daemon
