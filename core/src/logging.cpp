#include "wman/logging.h"

#include <spdlog/details/fmt_helper.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <memory>

#include "detail/log.h"

namespace wman {
namespace {

// %* is the message on one line (OneLineMessage): one entry, one line, whatever it holds.
constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e [%l] [pid %P] %*";

// The message with each line break shown as a backslash and 'n' (or 'r'): a log entry that spans
// lines breaks every line-based reader (grep, journald, log shippers), and a peer's bytes must not
// forge entries.
class OneLineMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : msg.payload) {
      if (c == '\n') {
        spdlog::details::fmt_helper::append_string_view("\\n", dest);
      } else if (c == '\r') {
        spdlog::details::fmt_helper::append_string_view("\\r", dest);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<OneLineMessage>();
  }
};

void applyPattern(spdlog::logger& logger) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<OneLineMessage>('*').set_pattern(kPattern);
  logger.set_formatter(std::move(formatter));
}

struct LogState {
  std::shared_ptr<spdlog::logger> logger;
  std::string target = "stderr";
};

LogState& state() {
  static LogState s = [] {
    LogState init;
    init.logger =
        std::make_shared<spdlog::logger>("wman", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    applyPattern(*init.logger);
    init.logger->set_level(spdlog::level::info);
    init.logger->flush_on(spdlog::level::info);
    return init;
  }();
  return s;
}

std::shared_ptr<spdlog::logger> makeLogger(const std::string& target, std::string* error) {
  try {
    spdlog::sink_ptr sink;
    if (target == "stderr") {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(target, false);
    }
    auto logger = std::make_shared<spdlog::logger>("wman", std::move(sink));
    applyPattern(*logger);
    return logger;
  } catch (const spdlog::spdlog_ex& e) {
    if (error) *error = e.what();
    return nullptr;
  }
}

}  // namespace

bool configureLogging(const std::string& target, const std::string& level, std::string* error) {
  auto lvl = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  if (lvl == spdlog::level::off && level != "off") {
    if (error) *error = "unknown log level '" + level + "'";
    return false;
  }
  auto logger = makeLogger(target, error);
  if (!logger) return false;
  logger->set_level(lvl);
  // Daemons are read through their log: flush every line at info and above so nothing is
  // lost when a worker is killed.
  logger->flush_on(spdlog::level::info);
  state().logger = std::move(logger);
  state().target = target;
  return true;
}

void reopenLogs() {
  auto& s = state();
  if (s.target == "stderr") return;
  auto logger = makeLogger(s.target, nullptr);
  if (!logger) return;
  logger->set_level(s.logger->level());
  logger->flush_on(spdlog::level::info);
  s.logger = std::move(logger);
}

spdlog::logger& logger() {
  return *state().logger;
}

namespace detail {
spdlog::logger& log() {
  return *state().logger;
}
}  // namespace detail

}  // namespace wman
