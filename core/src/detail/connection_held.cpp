// The busy part of a connection (ConnectionImpl::Held): allocated when a connection first
// needs to hold bytes or a write in flight, and freed as soon as an open connection holds
// nothing, so an idle connection holds none of it. The block is small and left to the
// allocator's per-thread caches; the buffers' storage, which can be large, goes back to the
// loop's BufferPool. The deadline wheel's links and the deadline clock are not in it: every
// connection has deadlines, busy or not.
#include "detail/buffer_pool.h"
#include "detail/connection_impl.h"

namespace wman::detail {

std::unique_ptr<ConnectionImpl::Held>& ConnectionImpl::spareHeld() {
  // One per thread, and so per loop. Replies are written as their input is handled, so a
  // busy connection takes a block and gives it back within one read: a single spare saves
  // an allocation and a free of the block and of a small output buffer per read.
  // Initial-exec: as code of a shared library, the default model looked the variable up
  // through __tls_get_addr, twice per use (the variable and its destructor's guard), four
  // times per echoed message. Eight bytes fit the static TLS space even in a module
  // loaded with dlopen().
  [[gnu::tls_model("initial-exec")]] thread_local std::unique_ptr<Held> spare;
  return spare;
}

ConnectionImpl::Held& ConnectionImpl::newHeld() {
  std::unique_ptr<Held>& spare = spareHeld();
  held_ = spare ? std::move(spare) : std::make_unique<Held>();
  return *held_;
}

void ConnectionImpl::settleHeld() {
  if (stage_ != Stage::Open) return;
  Held& h = *held_;
  if (!h.in.empty() || !h.out.empty() || h.pending) return;
  buffers().clear(h.in);
  buffers().clear(h.out);
  std::unique_ptr<Held>& spare = spareHeld();
  if (!spare) {
    spare = std::move(held_);
  } else {
    held_.reset();
  }
}

std::size_t ConnectionImpl::heldBytes() const {
  if (!held_) return 0;
  const PendingWrite* p = held_->pending.get();
  return held_->in.capacity() + held_->out.capacity() + (p ? p->data.capacity() : 0);
}

}  // namespace wman::detail
