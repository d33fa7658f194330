// A hashed timing wheel of intrusive entries: the deadlines of a worker's connections
// (handshake, idle, ping, unfinished message, flush on close) cost the periodic sweep only
// the entries whose slot came due, never a walk over every connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace wman::detail {

// The node an owner embeds (or derives from) to sit in a DeadlineWheel: two pointers, no
// allocation. An entry is in at most one list; it unlinks itself when destroyed, so an owner
// freed while scheduled leaves nothing dangling behind.
class DeadlineLink {
 public:
  DeadlineLink() = default;
  DeadlineLink(const DeadlineLink&) = delete;
  DeadlineLink& operator=(const DeadlineLink&) = delete;
  ~DeadlineLink() { unlink(); }

  bool linked() const { return next_ != nullptr; }
  // Leaves whatever list this entry is in (a no-op when in none).
  void unlink();

 private:
  friend class DeadlineWheel;
  // Circular doubly linked list; a list's head is a DeadlineLink that points at itself.
  void makeHead() { prev_ = next_ = this; }
  void insertBefore(DeadlineLink& at);
  DeadlineLink* prev_ = nullptr;
  DeadlineLink* next_ = nullptr;
};

// What a visit decided about one entry: when to look at it again (0: never, it leaves the
// wheel), and whether the sweep has done enough for this pass (the entries left stay due and
// come first in the next advance()).
struct DeadlineVisit {
  std::uint64_t next_due = 0;
  bool stop = false;
};

// Loop thread only. Time is the caller's clock in milliseconds; slot = due / tick. Entries
// are looked at lazily: an entry is placed at the earliest deadline its owner knows of when
// scheduled, and the owner's visit recomputes the real one (activity that postponed it does
// not move the entry on every read, only when the old deadline comes). A due time past the
// wheel's span lands in its slot modulo the span and is simply visited early, once per turn.
class DeadlineWheel {
 public:
  // `tick_ms` (> 0) is the resolution: an entry is visited at most one tick after its due
  // time (plus the caller's timer slack). `slots` is rounded up to a power of two; `now` is
  // the current time.
  DeadlineWheel(std::uint64_t tick_ms, std::size_t slots, std::uint64_t now);
  ~DeadlineWheel();
  DeadlineWheel(const DeadlineWheel&) = delete;
  DeadlineWheel& operator=(const DeadlineWheel&) = delete;

  // (Re)places `entry` at `due`, leaving any list it was in. A due time not after the last
  // tick advanced goes to the next tick, so an entry is never skipped.
  void schedule(DeadlineLink& entry, std::uint64_t due);

  // Visits every entry whose slot came due by `now`, oldest tick first, calling
  // `visit(DeadlineLink&) -> DeadlineVisit` with the entry already unlinked (so the visit
  // may destroy its owner or schedule it again itself). An entry visited returns to the wheel
  // at its next_due unless that is 0 or the visit scheduled it already. Returns true when a
  // visit said stop and due entries are left for the next call.
  template <class Visit>
  bool advance(std::uint64_t now, Visit&& visit);

  std::uint64_t tickMs() const { return tick_ms_; }
  std::size_t slotCount() const { return mask_ + 1; }

 private:
  // Moves the slots whose tick passed (at most one full turn) to the due list.
  void collectDue(std::uint64_t now);

  std::uint64_t tick_ms_;
  std::size_t mask_;
  std::uint64_t tick_;  // the last tick whose slot was collected
  std::unique_ptr<DeadlineLink[]> slots_;
  DeadlineLink due_;  // collected and not yet visited, oldest first
};

template <class Visit>
bool DeadlineWheel::advance(std::uint64_t now, Visit&& visit) {
  collectDue(now);
  while (due_.next_ != &due_) {
    DeadlineLink& entry = *due_.next_;
    entry.unlink();
    const DeadlineVisit v = visit(entry);
    if (v.next_due != 0 && !entry.linked()) schedule(entry, v.next_due);
    if (v.stop) return due_.next_ != &due_;
  }
  return false;
}

}  // namespace wman::detail
