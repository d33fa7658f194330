#include "detail/deadline_wheel.h"

#include <algorithm>
#include <bit>

namespace wman::detail {

void DeadlineLink::unlink() {
  if (!next_) return;
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

void DeadlineLink::insertBefore(DeadlineLink& at) {
  prev_ = at.prev_;
  next_ = &at;
  at.prev_->next_ = this;
  at.prev_ = this;
}

DeadlineWheel::DeadlineWheel(std::uint64_t tick_ms, std::size_t slots, std::uint64_t now)
    : tick_ms_(std::max<std::uint64_t>(tick_ms, 1)),
      mask_(std::bit_ceil(std::max<std::size_t>(slots, 1)) - 1),
      tick_(now / tick_ms_),
      slots_(std::make_unique<DeadlineLink[]>(mask_ + 1)) {
  for (std::size_t i = 0; i <= mask_; ++i) slots_[i].makeHead();
  due_.makeHead();
}

DeadlineWheel::~DeadlineWheel() {
  // Entries may outlive the wheel (connections freed after their runtime's sweep closed):
  // detach them so their own unlink() never touches these heads.
  auto detachAll = [](DeadlineLink& head) {
    while (head.next_ != &head) head.next_->unlink();
    head.prev_ = head.next_ = nullptr;
  };
  for (std::size_t i = 0; i <= mask_; ++i) detachAll(slots_[i]);
  detachAll(due_);
}

void DeadlineWheel::schedule(DeadlineLink& entry, std::uint64_t due) {
  entry.unlink();
  const std::uint64_t tick = std::max(due / tick_ms_, tick_ + 1);
  entry.insertBefore(slots_[tick & mask_]);
}

void DeadlineWheel::collectDue(std::uint64_t now) {
  const std::uint64_t target = now / tick_ms_;
  if (target <= tick_) return;
  // After a stall longer than a turn, every slot is due once; visits reschedule what is not.
  const std::uint64_t first = std::max(tick_ + 1, target > mask_ ? target - mask_ : 0);
  for (std::uint64_t t = first; t <= target; ++t) {
    DeadlineLink& head = slots_[t & mask_];
    if (head.next_ == &head) continue;
    // Splice the whole slot onto the tail of the due list.
    DeadlineLink* front = head.next_;
    DeadlineLink* back = head.prev_;
    front->prev_ = due_.prev_;
    due_.prev_->next_ = front;
    back->next_ = &due_;
    due_.prev_ = back;
    head.makeHead();
  }
  tick_ = target;
}

}  // namespace wman::detail
