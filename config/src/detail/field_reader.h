// Typed, position-aware reading of toml++ tables for the config loader. Every problem
// becomes a ConfigError pointing at the offending key or value; nothing throws.
#pragma once

#include <toml++/toml.h>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detail/text.h"
#include "wman/config.h"

namespace wman::detail {

class FieldReader;

// Reads one value (already known to belong to key `key`) into its destination.
using ValueReader = std::function<void(FieldReader&, std::string_view key, const toml::node&)>;

// One known key of a table and how to read it.
struct Field {
  std::string_view name;
  ValueReader read;
};

// Collects errors for one file. Holds references; must not outlive `errors`.
class FieldReader {
 public:
  FieldReader(std::string file, std::vector<ConfigError>& errors, const ConfigCheck& check)
      : file_(std::move(file)), errors_(errors), check_(check) {}

  const ConfigCheck& check() const { return check_; }

  // Records `message` at the start of `where` (a node's or a key's source region).
  void error(const toml::source_region& where, std::string message);
  // Records a message with no position (the whole file is at fault).
  void fileError(std::string message);

  // Reads each key of `table` with the matching Field. Unknown keys are errors naming
  // `section` ("[daemon]"), with a hint when the key belongs in another table or a
  // did-you-mean suggestion when it is close to a known one.
  void readFields(const toml::table& table, std::string_view section,
                  std::initializer_list<Field> fields);

  // Turns `path` into an absolute path relative to the config file's directory, because
  // the daemon and its workers may run with another working directory.
  std::string resolvePath(std::string_view path) const;

  // When check_files is on, reports `path` (named `what` in messages) unless it is a
  // readable regular file.
  void requireReadableFile(const toml::node& where, std::string_view what, const std::string& path);
  // When check_files is on, reports `path` unless it is a directory whose entries can be
  // listed and opened (read and search permission).
  void requireReadableDirectory(const toml::node& where, std::string_view what,
                                const std::string& path);

  // Scalar conversions. Each returns nullopt after reporting a type or range error at
  // `node`, whose key is `key` (used in the message).
  std::optional<std::string> string(std::string_view key, const toml::node& node);
  std::optional<bool> boolean(std::string_view key, const toml::node& node);
  std::optional<std::int64_t> integer(std::string_view key, const toml::node& node,
                                      std::int64_t min, std::int64_t max);
  // An integer number of bytes, or a string with a unit ("64KiB"); at least `min`.
  std::optional<std::uint64_t> size(std::string_view key, const toml::node& node,
                                    std::uint64_t min);
  // An integer number of seconds, or a string with a unit ("250ms"); at least `min`.
  std::optional<Duration> duration(std::string_view key, const toml::node& node, Duration min);

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
  const ConfigCheck& check_;
};

// The TOML type of `node` as users write it: "string", "integer", "float", "boolean",
// "array", "table", "date", "time", "date-time".
std::string_view typeName(const toml::node& node);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t editDistance(std::string_view a, std::string_view b);

// ValueReaders for the common shapes; each leaves the destination unchanged when the value
// is not acceptable (the error is already recorded).
ValueReader asString(std::string* out, bool allow_empty = false);
// A string resolved by resolvePath(); "" is kept as "" only when `allow_empty`.
ValueReader asPath(std::string* out, bool allow_empty = false);
ValueReader asBool(bool* out);
ValueReader asSize(std::size_t* out, std::uint64_t min);
ValueReader asDuration(Duration* out, Duration min);
ValueReader asOneOf(std::string* out, std::vector<std::string_view> allowed);
// Why a string is not acceptable (a message that follows the quoted value), or "" if it is.
using StringCheck = std::function<std::string(const std::string&)>;
// An array of non-empty strings, each at most `max_length` bytes and passing `check` when
// given; bad elements are reported one by one and skipped, the rest replace *out. `what`
// names the elements in the message for a value that is not an array.
ValueReader asStringArray(std::vector<std::string>* out,
                          std::size_t max_length = std::numeric_limits<std::size_t>::max(),
                          StringCheck check = {}, std::string_view what = "strings");

template <class T>
ValueReader asInt(T* out, std::int64_t min, std::int64_t max) {
  return [out, min, max](FieldReader& r, std::string_view key, const toml::node& node) {
    if (auto v = r.integer(key, node, min, max)) *out = static_cast<T>(*v);
  };
}

}  // namespace wman::detail
