// The write path of a connection: sends gathered in the output during a loop pass, handed
// to the transport (TLS seals them) and written once from the loop's flush pass; what the
// kernel does not take at once waits for the socket to be writable while new sends gather.
// Replies to a read gather in the loop's cork instead and are written as the read is
// handled (readSocket), so an echo takes no output buffer and no busy block of its own.
#include "detail/buffer_pool.h"
#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/worker_runtime.h"

namespace wman::detail {

void ConnectionImpl::scheduleFlush() {
  if (has(kCorked)) {
    set(kFlushOwed);
    return;
  }
  runtime().loop().noteQueued();
  if (has(kFlushScheduled)) return;
  set(kFlushScheduled);
  runtime().loop().scheduleFlush(this);
}

void ConnectionImpl::flushScheduled() {
  clear(kFlushScheduled);
  flush();
}

void ConnectionImpl::flush() {
  if (state_ == ConnectionState::Closed || writing()) return;
  // Everything queued in this pass goes out in one write (for TLS, as few records as
  // possible); a closing connection's transport ends its stream (TLS: close_notify).
  std::string& plain = out();
  std::string scratch;
  std::string& wire = transport_->output(plain, state_ == ConnectionState::Closing, scratch);
  if (&wire != &plain) handBack(plain);  // sealed into `scratch`
  write(wire);
}

void ConnectionImpl::takeCork() {
  // Output already waiting (queued or in flight) goes first: replies queue behind it.
  if (buffered() != 0) return;
  EventLoop::Cork& cork = runtime().loop().cork();
  if (cork.owner != nullptr) return;
  cork.owner = this;
  set(kCorkOut);
}

void ConnectionImpl::uncork() {
  if (!has(kCorkOut)) return;
  // Not written with the read: what the cork holds waits in the connection's own output,
  // in order (a closed connection's is dropped).
  EventLoop::Cork& cork = runtime().loop().cork();
  if (!cork.data.empty() && stage_ != Stage::Closed) {
    std::string& own = held().out;
    buffers().provide(own, own.size() + cork.data.size());
    own.append(cork.data);
  }
  leaveCork(cork);
}

void ConnectionImpl::handBack(std::string& s) {
  EventLoop& loop = runtime().loop();
  if (has(kCorkOut) && &s == &loop.cork().data) return leaveCork(loop.cork());
  loop.buffers().clear(s);
}

void ConnectionImpl::leaveCork(EventLoop::Cork& cork) {
  cork.data.clear();
  if (cork.data.capacity() > EventLoop::kCorkKeep) std::string().swap(cork.data);
  cork.owner = nullptr;
  clear(kCorkOut);
}

int ConnectionImpl::tryWrite(std::string& wire) {
  const std::string_view all(wire);
  return sendParts(&all, 1);
}

void ConnectionImpl::write(std::string& wire) {
  const int n = wire.empty() ? 0 : tryWrite(wire);
  if (n < 0) {
    failed("write", n);
    return;
  }
  if (static_cast<std::size_t>(n) == wire.size()) {
    handBack(wire);
    afterWrite();
    return;
  }
  // The kernel took part of it: the rest goes when the socket is writable, and new sends
  // gather in the (now empty) output buffer meanwhile.
  Held& h = held();
  h.pending = std::make_unique<PendingWrite>();
  h.pending->data.swap(wire);
  h.pending->offset = static_cast<std::size_t>(n);
  handBack(wire);
  rearm();
}

BufferPool& ConnectionImpl::buffers() const {
  return runtime().loop().buffers();
}

void ConnectionImpl::noteWritten() {
  if (!has(kPingQueued)) return;
  clear(kPingQueued);
  runtime().pingWritten(*this);
}

void ConnectionImpl::afterWrite() {
  // What was queued before this write went out with it.
  noteWritten();
  if (buffered() != 0) return;
  if (has(kSendingFile) && state_ == ConnectionState::Established) {
    pumpFile();
    if (buffered() != 0) return;
  }
  if (has(kBufferFull)) {
    clear(kBufferFull);
    dispatch(
        id_, "onBufferDrain", events().onBufferDrain, [this] { runtime().callbackFailed(*this); },
        face());
  }
  if (state_ == ConnectionState::Closing && buffered() == 0) flushedForClose();
  settle();
}

}  // namespace wman::detail
