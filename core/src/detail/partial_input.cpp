#include "detail/partial_input.h"

#include <vector>

#include "detail/connection_impl.h"

namespace wman::detail {

void PartialInputList::add(ConnectionImpl& c, std::uint64_t now) {
  if (contains(c)) return;
  // 0 means "not listed", and a loop clock that reads 0 is possible right after start.
  c.partial_since_ = now == 0 ? 1 : now;
  c.partial_prev_ = tail_;
  c.partial_next_ = nullptr;
  if (tail_) {
    tail_->partial_next_ = &c;
  } else {
    head_ = &c;
  }
  tail_ = &c;
}

void PartialInputList::remove(ConnectionImpl& c) {
  if (!contains(c)) return;
  if (c.partial_prev_) {
    c.partial_prev_->partial_next_ = c.partial_next_;
  } else {
    head_ = c.partial_next_;
  }
  if (c.partial_next_) {
    c.partial_next_->partial_prev_ = c.partial_prev_;
  } else {
    tail_ = c.partial_prev_;
  }
  c.partial_prev_ = c.partial_next_ = nullptr;
  c.partial_since_ = 0;
}

bool PartialInputList::contains(const ConnectionImpl& c) const {
  return c.partial_since_ != 0;
}

std::uint64_t PartialInputList::since(const ConnectionImpl& c) {
  return c.partial_since_;
}

bool PartialInputList::expire(std::uint64_t now, std::uint64_t timeout_ms, std::size_t max_batch) {
  if (timeout_ms == 0) return false;
  // Collected first: closing unlinks the connection, and may run callbacks that change
  // the list.
  std::vector<ConnectionImpl*> expired;
  for (ConnectionImpl* c = head_; c && expired.size() < max_batch; c = c->partial_next_) {
    if (now - c->partial_since_ < timeout_ms) break;  // sorted: the rest are younger
    expired.push_back(c);
  }
  for (ConnectionImpl* c : expired) {
    if (contains(*c)) c->messageTimedOut(timeout_ms);
  }
  return expired.size() == max_batch;
}

}  // namespace wman::detail
