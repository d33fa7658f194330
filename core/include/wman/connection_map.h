// The connections of one worker process by id, as Worker::connections() shows them: an
// open-addressing table of pointers (about 13 bytes per connection at 10,000, against about
// 45 for a node-based map), keyed by each connection's own id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <utility>

#include "wman/connection.h"

namespace wman {

// Iteration yields (id, connection) pairs in no particular order; a range-for with structured
// bindings works as on a std::unordered_map. Valid until the next insert or erase (the
// runtime erases a connection after its onClose, never during the application's loop over
// the map). Loop thread only.
class ConnectionMap {
 public:
  using value_type = std::pair<ConnectionId, Connection*>;

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = ConnectionMap::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    iterator() = default;
    // The pair lives in the iterator: valid until it moves on.
    reference operator*() const { return current_; }
    pointer operator->() const { return &current_; }
    iterator& operator++() {
      ++slot_;
      skipEmpty();
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator& other) const { return slot_ == other.slot_; }

   private:
    friend class ConnectionMap;
    iterator(Connection* const* slot, Connection* const* end) : slot_(slot), end_(end) {
      skipEmpty();
    }
    void skipEmpty() {
      while (slot_ != end_ && *slot_ == nullptr) ++slot_;
      if (slot_ != end_) current_ = {(*slot_)->id(), *slot_};
    }
    Connection* const* slot_ = nullptr;
    Connection* const* end_ = nullptr;
    value_type current_{};
  };
  using const_iterator = iterator;

  ConnectionMap() = default;
  ConnectionMap(const ConnectionMap&) = delete;
  ConnectionMap& operator=(const ConnectionMap&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  iterator begin() const { return {slots_.get(), slots_.get() + capacity_}; }
  iterator end() const { return {slots_.get() + capacity_, slots_.get() + capacity_}; }

  // The connection with `id`, or nullptr.
  Connection* find(ConnectionId id) const;
  bool contains(ConnectionId id) const { return find(id) != nullptr; }

  // For the runtime: adds `c` under c->id() (which must not be present yet), removes the
  // connection with `id` (false if none).
  void insert(Connection* c);
  bool erase(ConnectionId id);

 private:
  std::size_t home(ConnectionId id) const;
  void rehash(std::size_t capacity);

  std::unique_ptr<Connection*[]> slots_;
  std::size_t capacity_ = 0;  // 0 or a power of two
  std::size_t size_ = 0;
};

}  // namespace wman
