// The Prometheus text exposition format (version 0.0.4), written family by family: a
// "# HELP" and a "# TYPE" line, then one line per sample. Pure formatting: what the values
// are is the caller's business (master_metrics.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wman::daemon {

enum class MetricType { Counter, Gauge };

// Label name and value of one sample, in the order they are written.
using MetricLabels = std::vector<std::pair<std::string_view, std::string>>;

class MetricsText {
 public:
  // Starts the family `name` (a counter's name ends in "_total"). Every sample until the
  // next family() belongs to it; a family is written once, so its samples must be added
  // together. `name` and `help` are the caller's constants: names are checked in debug
  // builds only.
  void family(std::string_view name, MetricType type, std::string_view help);
  // One sample of the current family. Label values are escaped; a non-finite value is
  // written as NaN, +Inf or -Inf.
  void sample(const MetricLabels& labels, double value);
  void sample(const MetricLabels& labels, std::int64_t value);

  const std::string& text() const { return out_; }

 private:
  void startSample(const MetricLabels& labels);

  std::string out_;
  std::string name_;
};

// True for a valid metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]* (no ':' in label names).
bool validMetricName(std::string_view name, bool label = false);
// A label value as the format quotes it: backslash, double quote and newline escaped.
std::string escapeLabelValue(std::string_view value);
// HELP text: backslash and newline escaped.
std::string escapeHelp(std::string_view help);

// The Content-Type of the format.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace wman::daemon
