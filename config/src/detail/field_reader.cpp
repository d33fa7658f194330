// Position-aware readers shared by the [daemon] and [[worker]] sections.
#include "detail/field_reader.h"

#include "detail/schema.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

namespace wman::detail {

void FieldReader::error(const toml::source_region& where, std::string message) {
  errors_.push_back(ConfigError{file_, static_cast<int>(where.begin.line),
                                static_cast<int>(where.begin.column), std::move(message)});
}

void FieldReader::fileError(std::string message) {
  errors_.push_back(ConfigError{file_, 0, 0, std::move(message)});
}

void FieldReader::readFields(const toml::table& table, std::string_view section,
                             std::initializer_list<Field> fields) {
  for (auto&& [key, node] : table) {
    const std::string_view name = key.str();
    const auto field =
        std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == name; });
    if (field != fields.end()) {
      field->read(*this, name, node);
      continue;
    }
    std::string message = "unknown key " + quote(name) +
                          (section.substr(0, 1) == "[" ? " in " : " at ") + std::string(section);
    std::string hint = misplacedKeyHint(name, section);
    if (hint.empty()) {
      // Suggest the closest known key, but only when it is plausibly a typo: a distance of
      // 2 turns any 2-letter word into any other.
      std::size_t best = 3;
      for (const Field& f : fields) {
        const std::size_t d = editDistance(name, f.name);
        if (d < best && d < std::max(name.size(), f.name.size()) / 2 + 1) {
          best = d;
          hint = "did you mean '" + std::string(f.name) + "'?";
        }
      }
    }
    if (!hint.empty()) message += "; " + hint;
    error(key.source(), std::move(message));
  }
}

std::string FieldReader::resolvePath(std::string_view path) const {
  const std::filesystem::path p{std::string(path)};
  if (p.is_absolute()) return p.lexically_normal().string();
  const std::filesystem::path base = std::filesystem::path(file_).parent_path();
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(base / p, ec);
  return ec ? (base / p).string() : abs.lexically_normal().string();
}

void FieldReader::requireReadableFile(const toml::node& where, std::string_view what,
                                      const std::string& path) {
  if (!check_.check_files) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error(where.source(), std::string(what) + " " + quote(path) + ": " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    error(where.source(), std::string(what) + " " + quote(path) + " is not a regular file");
  } else if (::access(path.c_str(), R_OK) != 0) {
    error(where.source(),
          std::string(what) + " " + quote(path) + " is not readable: " + std::strerror(errno));
  }
}

void FieldReader::requireReadableDirectory(const toml::node& where, std::string_view what,
                                           const std::string& path) {
  if (!check_.check_files) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error(where.source(), std::string(what) + " " + quote(path) + ": " + std::strerror(errno));
  } else if (!S_ISDIR(st.st_mode)) {
    error(where.source(), std::string(what) + " " + quote(path) + " is not a directory");
  } else if (::access(path.c_str(), R_OK | X_OK) != 0) {
    error(where.source(), std::string(what) + " " + quote(path) +
                              " is not a readable directory: " + std::strerror(errno));
  }
}

std::optional<std::string> FieldReader::string(std::string_view key, const toml::node& node) {
  if (const auto* s = node.as_string()) {
    // TOML allows "\u0000"; a NUL would silently cut paths and names short in every C API
    // they reach (stat, dlopen, getpwnam).
    if (s->get().find('\0') != std::string::npos) {
      error(node.source(), std::string(key) + " must not contain NUL characters");
      return std::nullopt;
    }
    return s->get();
  }
  error(node.source(), std::string(key) + " must be a string, got " + std::string(typeName(node)));
  return std::nullopt;
}

std::optional<bool> FieldReader::boolean(std::string_view key, const toml::node& node) {
  if (const auto* b = node.as_boolean()) return b->get();
  error(node.source(), std::string(key) + " must be a boolean (true or false), got " +
                           std::string(typeName(node)));
  return std::nullopt;
}

std::optional<std::int64_t> FieldReader::integer(std::string_view key, const toml::node& node,
                                                 std::int64_t min, std::int64_t max) {
  const auto* i = node.as_integer();
  if (!i) {
    error(node.source(),
          std::string(key) + " must be an integer, got " + std::string(typeName(node)));
    return std::nullopt;
  }
  const std::int64_t v = i->get();
  if (v < min || v > max) {
    std::string range = max == std::numeric_limits<std::int64_t>::max()
                            ? "at least " + std::to_string(min)
                            : "between " + std::to_string(min) + " and " + std::to_string(max);
    error(node.source(), std::string(key) + " must be " + range + ", got " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

std::optional<std::uint64_t> FieldReader::size(std::string_view key, const toml::node& node,
                                               std::uint64_t min) {
  std::optional<std::uint64_t> v;
  if (const auto* i = node.as_integer()) {
    if (i->get() < 0) {
      error(node.source(),
            std::string(key) + " must not be negative, got " + std::to_string(i->get()));
      return std::nullopt;
    }
    v = static_cast<std::uint64_t>(i->get());
  } else if (const auto* s = node.as_string()) {
    v = parseSize(s->get());
    if (!v) {
      error(node.source(), std::string(key) + ": invalid size " + quote(s->get()) +
                               " (use bytes with an optional unit B, KiB, MiB or GiB, "
                               "e.g. \"64KiB\")");
      return std::nullopt;
    }
  } else {
    error(node.source(), std::string(key) +
                             " must be a size (integer bytes or a string like \"64KiB\"), got " +
                             std::string(typeName(node)));
    return std::nullopt;
  }
  if (*v < min) {
    error(node.source(), std::string(key) + " must be at least " + std::to_string(min) +
                             " bytes, got " + std::to_string(*v));
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> FieldReader::duration(std::string_view key, const toml::node& node,
                                              Duration min) {
  std::optional<Duration> v;
  if (const auto* i = node.as_integer()) {
    constexpr std::int64_t kMaxSeconds = std::numeric_limits<Duration::rep>::max() / 1000;
    if (i->get() < 0 || i->get() > kMaxSeconds) {
      error(node.source(), std::string(key) + " must be between 0 and " +
                               std::to_string(kMaxSeconds) + " seconds, got " +
                               std::to_string(i->get()));
      return std::nullopt;
    }
    v = Duration{i->get() * 1000};
  } else if (const auto* s = node.as_string()) {
    v = parseDuration(s->get());
    if (!v) {
      error(node.source(), std::string(key) + ": invalid duration " + quote(s->get()) +
                               " (use a number with unit ms, s, m or h, e.g. \"250ms\")");
      return std::nullopt;
    }
  } else {
    error(node.source(),
          std::string(key) +
              " must be a duration (integer seconds or a string like \"30s\"), got " +
              std::string(typeName(node)));
    return std::nullopt;
  }
  if (*v < min) {
    error(node.source(), std::string(key) + " must be at least " + std::to_string(min.count()) +
                             "ms, got " + std::to_string(v->count()) + "ms");
    return std::nullopt;
  }
  return v;
}

std::string_view typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

ValueReader asString(std::string* out, bool allow_empty) {
  return [out, allow_empty](FieldReader& r, std::string_view key, const toml::node& node) {
    auto v = r.string(key, node);
    if (!v) return;
    if (v->empty() && !allow_empty) {
      r.error(node.source(), std::string(key) + " must not be empty");
      return;
    }
    *out = std::move(*v);
  };
}

ValueReader asPath(std::string* out, bool allow_empty) {
  return [out, allow_empty](FieldReader& r, std::string_view key, const toml::node& node) {
    auto v = r.string(key, node);
    if (!v) return;
    if (v->empty()) {
      if (allow_empty) out->clear();
      if (!allow_empty) r.error(node.source(), std::string(key) + " must not be empty");
      return;
    }
    *out = r.resolvePath(*v);
  };
}

ValueReader asBool(bool* out) {
  return [out](FieldReader& r, std::string_view key, const toml::node& node) {
    if (auto v = r.boolean(key, node)) *out = *v;
  };
}

ValueReader asSize(std::size_t* out, std::uint64_t min) {
  return [out, min](FieldReader& r, std::string_view key, const toml::node& node) {
    if (auto v = r.size(key, node, min)) *out = static_cast<std::size_t>(*v);
  };
}

ValueReader asDuration(Duration* out, Duration min) {
  return [out, min](FieldReader& r, std::string_view key, const toml::node& node) {
    if (auto v = r.duration(key, node, min)) *out = *v;
  };
}

ValueReader asOneOf(std::string* out, std::vector<std::string_view> allowed) {
  return [out, allowed = std::move(allowed)](FieldReader& r, std::string_view key,
                                             const toml::node& node) {
    auto v = r.string(key, node);
    if (!v) return;
    if (std::find(allowed.begin(), allowed.end(), *v) != allowed.end()) {
      *out = std::move(*v);
      return;
    }
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    r.error(node.source(),
            "invalid " + std::string(key) + " " + quote(*v) + " (expected one of: " + list + ")");
  };
}

ValueReader asStringArray(std::vector<std::string>* out, std::size_t max_length, StringCheck check,
                          std::string_view what) {
  return [out, max_length, check = std::move(check), what](FieldReader& r, std::string_view key,
                                                           const toml::node& node) {
    const auto* array = node.as_array();
    if (!array) {
      r.error(node.source(), std::string(key) + " must be an array of " + std::string(what) +
                                 ", got " + std::string(typeName(node)));
      return;
    }
    std::vector<std::string> values;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      const std::string element = std::string(key) + "[" + std::to_string(i) + "]";
      const auto* s = item.as_string();
      if (!s || s->get().empty()) {
        r.error(item.source(), element + " must be a non-empty string, got " +
                                   (s ? "an empty string" : std::string(typeName(item))));
        continue;
      }
      if (s->get().size() > max_length) {
        r.error(item.source(), element + " must be at most " + std::to_string(max_length) +
                                   " bytes, got " + std::to_string(s->get().size()));
        continue;
      }
      if (check) {
        if (const std::string why = check(s->get()); !why.empty()) {
          r.error(item.source(), element + " " + quote(s->get()) + " " + why);
          continue;
        }
      }
      values.push_back(s->get());
    }
    *out = std::move(values);
  };
}

}  // namespace wman::detail
