#include "metrics_format.h"

#include <cassert>
#include <charconv>
#include <cmath>

namespace wman::daemon {
namespace {

bool nameChar(char c, bool first, bool label) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return !label;
  return !first && c >= '0' && c <= '9';
}

template <class Escape>
std::string escaped(std::string_view in, Escape&& extra) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (!extra(c, out)) {
      out += c;
    }
  }
  return out;
}

}  // namespace

bool validMetricName(std::string_view name, bool label) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!nameChar(name[i], i == 0, label)) return false;
  }
  // Names starting with "__" are reserved for Prometheus's own labels.
  return !(label && name.starts_with("__"));
}

std::string escapeLabelValue(std::string_view value) {
  return escaped(value, [](char c, std::string& out) {
    if (c != '"') return false;
    out += "\\\"";
    return true;
  });
}

std::string escapeHelp(std::string_view help) {
  return escaped(help, [](char, std::string&) { return false; });
}

void MetricsText::family(std::string_view name, MetricType type, std::string_view help) {
  assert(validMetricName(name));
  assert(type != MetricType::Counter || name.ends_with("_total"));
  name_ = name;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escapeHelp(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == MetricType::Counter ? " counter\n" : " gauge\n";
}

void MetricsText::startSample(const MetricLabels& labels) {
  out_ += name_;
  if (labels.empty()) {
    out_ += ' ';
    return;
  }
  char sep = '{';
  for (const auto& [key, value] : labels) {
    assert(validMetricName(key, true));
    out_ += sep;
    out_ += key;
    out_ += "=\"";
    out_ += escapeLabelValue(value);
    out_ += '"';
    sep = ',';
  }
  out_ += "} ";
}

void MetricsText::sample(const MetricLabels& labels, double value) {
  startSample(labels);
  if (std::isnan(value)) {
    out_ += "NaN";
  } else if (std::isinf(value)) {
    out_ += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    // The shortest text that reads back as the same double.
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, ec == std::errc() ? end : buf);
  }
  out_ += '\n';
}

void MetricsText::sample(const MetricLabels& labels, std::int64_t value) {
  startSample(labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

}  // namespace wman::daemon
