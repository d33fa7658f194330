#include "wman/connection_map.h"

namespace wman {
namespace {

// Grown past 3/4 full, shrunk below 1/8: probes stay short, and a worker that once held a
// million connections gives the table back as they leave.
constexpr std::size_t kMinCapacity = 16;

}  // namespace

std::size_t ConnectionMap::home(ConnectionId id) const {
  // Fibonacci hashing: ids are sequential, and the multiply spreads them over the table.
  return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ULL) >> 32) & (capacity_ - 1);
}

Connection* ConnectionMap::find(ConnectionId id) const {
  if (size_ == 0) return nullptr;
  for (std::size_t i = home(id);; i = (i + 1) & (capacity_ - 1)) {
    Connection* c = slots_[i];
    if (c == nullptr) return nullptr;
    if (c->id() == id) return c;
  }
}

void ConnectionMap::insert(Connection* c) {
  if ((size_ + 1) * 4 > capacity_ * 3) rehash(capacity_ == 0 ? kMinCapacity : capacity_ * 2);
  std::size_t i = home(c->id());
  while (slots_[i] != nullptr) i = (i + 1) & (capacity_ - 1);
  slots_[i] = c;
  ++size_;
}

bool ConnectionMap::erase(ConnectionId id) {
  if (size_ == 0) return false;
  const std::size_t mask = capacity_ - 1;
  std::size_t hole = home(id);
  while (slots_[hole] == nullptr || slots_[hole]->id() != id) {
    if (slots_[hole] == nullptr) return false;
    hole = (hole + 1) & mask;
  }
  // Backward-shift deletion: later members of the probe run move up into the hole, so a
  // lookup never needs tombstones.
  for (std::size_t i = (hole + 1) & mask; slots_[i] != nullptr; i = (i + 1) & mask) {
    const std::size_t want = home(slots_[i]->id());
    // Move it unless its home lies cyclically in (hole, i].
    const bool stays = hole <= i ? (want > hole && want <= i) : (want > hole || want <= i);
    if (stays) continue;
    slots_[hole] = slots_[i];
    hole = i;
  }
  slots_[hole] = nullptr;
  --size_;
  if (capacity_ > kMinCapacity && size_ * 8 < capacity_) rehash(capacity_ / 2);
  return true;
}

void ConnectionMap::rehash(std::size_t capacity) {
  auto old = std::move(slots_);
  const std::size_t old_capacity = capacity_;
  slots_ = std::make_unique<Connection*[]>(capacity);  // value-initialised: all null
  capacity_ = capacity;
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (old[i] == nullptr) continue;
    std::size_t j = home(old[i]->id());
    while (slots_[j] != nullptr) j = (j + 1) & (capacity_ - 1);
    slots_[j] = old[i];
  }
}

}  // namespace wman
