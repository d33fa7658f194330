// parseConfig/loadConfig: TOML text -> validated Config, or every error found.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <sstream>
#include <system_error>

#include "detail/field_reader.h"
#include "detail/metrics_reader.h"
#include "detail/worker_reader.h"
#include "wman/config.h"

namespace wman {
namespace {

using detail::FieldReader;

// A config file is a few KiB; the cap only stops `wman check -c /dev/zero` from reading
// forever.
constexpr std::size_t kMaxConfigBytes = 16 * 1024 * 1024;

bool userExists(const std::string& name) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  return ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found;
}

bool groupExists(const std::string& name) {
  long size = ::sysconf(_SC_GETGR_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  group gr{};
  group* found = nullptr;
  return ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) == 0 && found;
}

void readDaemon(FieldReader& r, const toml::table& t, DaemonConfig& d) {
  r.readFields(
      t, "[daemon]",
      {
          {"run_dir", detail::asPath(&d.run_dir)},
          {"log_file",
           [&d](FieldReader& fr, std::string_view key, const toml::node& node) {
             auto v = fr.string(key, node);
             if (!v) return;
             if (v->empty()) {
               fr.error(node.source(), "log_file must not be empty (use \"stderr\" or a path)");
               return;
             }
             d.log_file = *v == "stderr" ? *v : fr.resolvePath(*v);
           }},
          {"log_level", detail::asOneOf(&d.log_level, {"trace", "debug", "info", "warn", "error",
                                                       "critical", "off"})},
          {"user", detail::asString(&d.user, true)},
          {"group", detail::asString(&d.group, true)},
          {"stop_timeout", detail::asDuration(&d.stop_timeout, Duration{0})},
          {"drain_timeout", detail::asDuration(&d.drain_timeout, Duration{0})},
          // Zero would fail every reload and kill every worker at once; refuse it.
          {"start_timeout", detail::asDuration(&d.start_timeout, Duration{1})},
          {"heartbeat_timeout", detail::asDuration(&d.heartbeat_timeout, Duration{1})},
          {"rlimit_nofile",
           detail::asInt(&d.rlimit_nofile, 0, std::numeric_limits<std::int64_t>::max())},
          {"control_max_connections", detail::asInt(&d.control_max_connections, 1, 100000)},
          {"control_idle_timeout", detail::asDuration(&d.control_idle_timeout, Duration{1})},
          {"metrics", detail::asMetricsAddress(&d.metrics)},
          {"metrics_token", detail::asBearerToken(&d.metrics_token)},
          {"metrics_cert", detail::asPath(&d.metrics_cert)},
          {"metrics_key", detail::asPath(&d.metrics_key)},
      });
  detail::checkMetrics(r, t, d);
  // Whether the accounts exist is a property of this machine, like the files named in the
  // config, so it is checked under the same switch.
  if (r.check().check_files) {
    if (const toml::node* n = t.get("user"); n && !d.user.empty() && !userExists(d.user))
      r.error(n->source(), "user " + detail::quote(d.user) + " does not exist");
    if (const toml::node* n = t.get("group"); n && !d.group.empty() && !groupExists(d.group))
      r.error(n->source(), "group " + detail::quote(d.group) + " does not exist");
  }
}

// Node names appear in client ids (':' separates their parts) and Redis channel names.
bool validNodeName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// redis://[host][:port][/db] or rediss://...; the host is resolved when the bus starts.
std::string redisUrlProblem(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("rediss://")) {
    rest = url.substr(9);
  } else {
    return "must start with redis:// or rediss://";
  }
  std::string_view db;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (!db.empty() && (db.size() > 5 || !std::all_of(db.begin(), db.end(), ::isdigit)))
    return "database must be a number, got " + detail::quote(db);
  if (rest.empty()) return "needs a host";
  const auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535)
      return "port must be 1..65535, got " + detail::quote(port);
  }
  return {};
}

void readBus(FieldReader& r, const toml::table& t, BusConfig& b) {
  b.line = static_cast<int>(t.source().begin.line);
  r.readFields(t, "[bus]",
               {
                   {"enabled", detail::asBool(&b.enabled)},
                   {"node",
                    [&b](FieldReader& fr, std::string_view key, const toml::node& node) {
                      auto v = fr.string(key, node);
                      if (!v) return;
                      if (!validNodeName(*v)) {
                        fr.error(node.source(),
                                 "node must be 1-64 letters, digits, '.', '_' or '-', got " +
                                     detail::quote(*v));
                        return;
                      }
                      b.node = *v;
                    }},
                   {"redis",
                    [&b](FieldReader& fr, std::string_view key, const toml::node& node) {
                      auto v = fr.string(key, node);
                      if (!v) return;
                      if (std::string why = v->empty() ? "" : redisUrlProblem(*v); !why.empty()) {
                        fr.error(node.source(), "redis " + detail::quote(*v) + " " + why);
                        return;
                      }
                      b.redis = *v;
                    }},
                   {"password", detail::asString(&b.password, true)},
                   {"max_queue", detail::asSize(&b.max_queue, 4096)},
                   {"query_timeout", detail::asDuration(&b.query_timeout, Duration{1})},
               });
}

void readWorkers(FieldReader& r, const toml::node& node, std::vector<detail::WorkerEntry>& out) {
  const auto* array = node.as_array();
  if (!array) {
    const bool table = node.is_table();
    r.error(node.source(), std::string("worker must be an array of tables ([[worker]]), got ") +
                               std::string(detail::typeName(node)) +
                               (table ? "; write [[worker]], not [worker]" : ""));
    return;
  }
  for (const toml::node& item : *array) {
    if (const auto* t = item.as_table()) {
      out.push_back(detail::readWorker(r, *t));
    } else {
      r.error(item.source(), "each worker must be a table ([[worker]]), got " +
                                 std::string(detail::typeName(item)));
    }
  }
}

Config buildConfig(FieldReader& r, const toml::table& root, std::string path) {
  Config config;
  config.path = std::move(path);
  std::vector<detail::WorkerEntry> workers;
  bool worker_key = false;
  r.readFields(root, "the top level",
               {
                   {"daemon",
                    [&config](FieldReader& fr, std::string_view, const toml::node& node) {
                      if (const auto* t = node.as_table()) {
                        readDaemon(fr, *t, config.daemon);
                      } else {
                        fr.error(node.source(), "daemon must be a table ([daemon]), got " +
                                                    std::string(detail::typeName(node)));
                      }
                    }},
                   {"bus",
                    [&config](FieldReader& fr, std::string_view, const toml::node& node) {
                      if (const auto* t = node.as_table()) {
                        readBus(fr, *t, config.bus);
                      } else {
                        fr.error(node.source(), "bus must be a table ([bus]), got " +
                                                    std::string(detail::typeName(node)));
                      }
                    }},
                   {"worker",
                    [&](FieldReader& fr, std::string_view, const toml::node& node) {
                      worker_key = true;
                      readWorkers(fr, node, workers);
                    }},
               });
  if (!worker_key || (workers.empty() && root.get("worker")->as_array()))
    r.fileError("no [[worker]] defined");
  detail::checkWorkers(r, workers);
  for (detail::WorkerEntry& e : workers) config.workers.push_back(std::move(e.config));
  return config;
}

// toml++ sometimes quotes the offending input verbatim ("saw 'fals\n'"); escape control
// characters so each error stays one line for editors and `wman check`.
std::string oneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
    }
  }
  return out;
}

// Positioned errors in file order; whole-file errors (line 0) last.
void sortErrors(std::vector<ConfigError>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    const auto key = [](const ConfigError& e) {
      return std::pair{e.line == 0 ? std::numeric_limits<int>::max() : e.line, e.column};
    };
    return key(a) < key(b);
  });
}

}  // namespace

std::string ConfigError::format() const {
  std::string out = file.empty() ? "<config>" : file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out + ": " + message;
}

ConfigResult parseConfig(std::string_view text, std::string file_name, const ConfigCheck& check) {
  ConfigResult result;
  try {
    FieldReader reader(file_name, result.errors, check);
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(file_name));
    } catch (const toml::parse_error& e) {
      result.errors.push_back(ConfigError{file_name, static_cast<int>(e.source().begin.line),
                                          static_cast<int>(e.source().begin.column),
                                          oneLine(e.description())});
      return result;
    }
    Config config = buildConfig(reader, root, file_name);
    sortErrors(result.errors);
    if (result.errors.empty()) result.config = std::move(config);
  } catch (const std::exception& e) {
    // Only allocation failure can get here; report it rather than let it cross into the
    // master's loop.
    result.config.reset();
    result.errors.push_back(
        ConfigError{file_name, 0, 0, std::string("internal error: ") + e.what()});
  }
  return result;
}

ConfigResult loadConfig(const std::string& path, const ConfigCheck& check) {
  const auto fail = [&path](std::string message) {
    ConfigResult r;
    r.errors.push_back(ConfigError{path, 0, 0, std::move(message)});
    return r;
  };
  try {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
    std::string text;
    std::string problem;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) problem = "is a directory, not a file";
    char buf[65536];
    while (problem.empty()) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) problem = std::string("cannot read: ") + std::strerror(errno);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      if (text.size() > kMaxConfigBytes)
        problem = "file is larger than " + std::to_string(kMaxConfigBytes >> 20) + " MiB";
    }
    ::close(fd);
    if (!problem.empty()) return fail(std::move(problem));
    return parseConfig(text, path, check);
  } catch (const std::exception& e) {
    return fail(std::string("internal error: ") + e.what());
  }
}

}  // namespace wman
