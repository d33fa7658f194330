// How a typed channel message maps to a document: each message struct lists its members once
// in `static constexpr auto fields()`, and the templates below walk that list to write the
// struct into a Json object or read it back. Reading never throws: a member of the wrong type
// fails the whole read, a missing member keeps the struct's default (so a frame from a peer
// that predates a field still reads).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "json_doc.h"

namespace wman::daemon::ipc {

// A binary payload: travels as MessagePack bin, byte for byte, never escaped.
using Binary = Json::binary_t;

// One named member of message type M.
template <class M, class T>
struct Field {
  std::string_view name;
  T M::*member;
};
template <class M, class T>
constexpr Field<M, T> field(std::string_view name, T M::*member) {
  return {name, member};
}

// True for a struct that lists its members with fields().
template <class T>
concept Described = requires {
  T::fields();
};

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

template <Described M>
void writeFields(const M& m, Json& obj);
template <Described M>
bool readFields(const Json& obj, M& m);

template <class T>
Json toValue(const T& v) {
  if constexpr (Described<T>) {
    Json obj = Json::object();
    writeFields(v, obj);
    return obj;
  } else if constexpr (IsVector<T>::value) {
    Json arr = Json::array();
    for (const auto& e : v) arr.push_back(toValue(e));
    return arr;
  } else {
    return Json(v);  // scalars, strings, and Binary (which becomes a bin value)
  }
}

template <class T>
bool fromValue(const Json& j, T& out) {
  if constexpr (Described<T>) {
    return j.is_object() && readFields(j, out);
  } else if constexpr (std::is_same_v<T, Binary>) {
    if (!j.is_binary()) return false;
    out = j.get_binary();
    return true;
  } else if constexpr (IsVector<T>::value) {
    if (!j.is_array()) return false;
    out.clear();
    out.reserve(j.size());
    for (const Json& e : j) {
      if (!fromValue(e, out.emplace_back())) return false;
    }
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return false;
    out = j.get<bool>();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    // Range-checked, so a hostile value cannot wrap into a plausible one.
    const auto i = exactInt(j);
    constexpr auto kMin = static_cast<std::int64_t>(std::numeric_limits<T>::min());
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    if (!i || *i < kMin || (*i > 0 && static_cast<std::uint64_t>(*i) > kMax)) return false;
    out = static_cast<T>(*i);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!j.is_number()) return false;
    out = j.get<T>();
    return true;
  } else {
    static_assert(std::is_same_v<T, std::string>, "add a conversion for this field type");
    if (!j.is_string()) return false;
    out = j.get_ref<const std::string&>();
    return true;
  }
}

// Appends m's members to `obj` in the order fields() lists them.
template <Described M>
void writeFields(const M& m, Json& obj) {
  std::apply([&](const auto&... f) { ((obj[std::string(f.name)] = toValue(m.*(f.member))), ...); },
             M::fields());
}

// Reads m's members from `obj`; false when one has the wrong type.
template <Described M>
bool readFields(const Json& obj, M& m) {
  return std::apply(
      [&](const auto&... f) {
        [[maybe_unused]] auto one = [&](const auto& fld) {
          auto it = obj.find(fld.name);
          return it == obj.end() || fromValue(*it, m.*(fld.member));
        };
        return (one(f) && ...);
      },
      M::fields());
}

}  // namespace wman::daemon::ipc
