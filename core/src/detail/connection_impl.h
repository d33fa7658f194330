// The socket side of a Connection: the socket and its readiness, the read path (decode in
// place from the loop's shared buffer), the write path (gather during an iteration, flush
// once) and the close state machine (Established -> Closing -> Closed -> freed in the
// close callback).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "detail/deadline_wheel.h"
#include "detail/event_loop.h"
#include "detail/transport.h"
#include "detail/worker_runtime.h"
#include "wman/codec.h"
#include "wman/connection.h"
#include "wman/connection_events.h"
#include "wman/request_session.h"
#include "wman/slot_allocator.h"
#include "wman/worker.h"

namespace wman::detail {

class BufferPool;
class UniqueFd;
class WorkerRuntime;
class TlsContext;
class Outbound;

// A DeadlineLink so that the runtime's deadline wheel holds it without an allocation; in a
// slot (SlotAllocated), as it lives as long as its socket.
class ConnectionImpl final : public Connection, public DeadlineLink, public SlotAllocated {
 public:
  // Wraps `fd`, an already connected stream socket. Returns nullptr and sets `ec` on failure,
  // leaving `fd` open.
  static ConnectionImpl* open(WorkerRuntime& runtime, int fd, ConnectionId id, std::error_code& ec);

  // An outbound link of `owner` (an AsyncConnection): starts connecting to `addr` (TCP) or
  // `path` (unix, when `addr` is null) with the owner's codec and TLS context. The owner
  // hears of the connect result (Outbound::linkConnected / linkFailed), of the open session
  // (linkOpened) and of the close (linkClosed); the link is freed after linkClosed. The
  // application's callbacks get the owner's face, not the link. Returns nullptr and sets
  // `ec` when the connect cannot even start.
  static ConnectionImpl* connect(WorkerRuntime& runtime, Outbound& owner, ConnectionId id,
                                 const sockaddr* addr, const std::string& path,
                                 std::unique_ptr<Codec> codec, std::shared_ptr<TlsContext> tls,
                                 std::error_code& ec);

  // RFC 6455 7.4.1 policy violation: what a peer hears when it breaks a bound of this
  // server (held a message past message_timeout, asked for control frames it never read).
  static constexpr std::uint16_t kPolicyViolation = 1008;

  static ConnectionImpl* from(Connection& c) { return static_cast<ConnectionImpl*>(&c); }
  static const ConnectionImpl* from(const Connection& c) {
    return static_cast<const ConnectionImpl*>(&c);
  }

  // Starts reading and tells the application (onConnect). Outbound links first send their
  // protocol's opening (a WebSocket upgrade request; TLS sends its ClientHello by itself).
  void start();

  SendStatus queue(std::string_view data, MessageKind kind, bool raw);
  // Flushes, then closes. Session protocols first send their close message: `data` (if
  // any) goes out as a message, then a WebSocket Close 1000.
  void close(std::string_view data);
  // Session protocols: sends a close message with `code` and `reason` (once per
  // connection), then closes after flushing. Others: close({}).
  void close(std::uint16_t code, std::string_view reason);
  // Closes now like destroy(), but first tells a session protocol's peer why with one
  // non-blocking write of a close message (if nothing else is being written): a fast stop
  // costs no waiting, yet idle peers still learn the server is going away.
  void abort(std::uint16_t code, std::string_view reason);
  // Session protocols with an open session: sends one ping unless one is unanswered (any
  // input from the peer counts as an answer).
  void ping();
  void destroy();
  void pause();
  void resume();
  std::size_t buffered() const;
  // Bytes this connection's buffers hold (input, output, a write in flight), for the
  // memory budget (connection_held.cpp).
  std::size_t heldBytes() const;

  // Plaintext from the transport (see Transport::input): decoded from `data` in place, an
  // incomplete tail held.
  void handlePlain(const char* data, std::size_t size);

  // Called by the loop's flush pass: writes what was queued.
  void flushScheduled();
  // Called by the loop at the start of the pass after this connection yielded (its read
  // budget was spent) or was resumed: delivers the input held back, within this pass's
  // budget, and reads again once nothing is held.
  void continueInput();
  // Called by the runtime's sweep when this connection has held an unfinished message for
  // `timeout_ms`: closes it (WebSocket: Close 1008 "message timeout").
  void messageTimedOut(std::uint64_t timeout_ms);

  // Close without running onConnect/onClose (refused at accept).
  void reject();
  // An outbound link whose owner goes away: closes at once (a WebSocket peer hears 1001)
  // without telling the owner or the application.
  void orphan();
  const Codec& codec() const { return *codec_; }

  // Request/response protocols (connection_http.cpp). The request session of the codec,
  // or nullptr (another protocol, or upgraded to one).
  RequestSession* requests() const { return codec_->requests(); }
  // Appends part of the current response with `step` and flushes it; ends the exchange
  // when the response is complete. Dropped when the send queue is full (like queue()),
  // NotConnected when there is no request being answered.
  SendStatus respond(const std::function<void(RequestSession&, std::string&)>& step);
  // The deadline of what the session waits for passed (Idle, Head or Body; a response has
  // none): 408 for a request that did not arrive in time, a quiet close for an idle
  // keep-alive connection.
  void requestTimedOut(RequestSession::Wait wait, std::uint64_t timeout_ms);
  // A request handler threw: 500 unless part of the response is out already, then close.
  void requestFailed();
  // Answers the request with `status` (unless part of a response is out), then closes.
  void answerFailure(RequestSession& s, std::uint16_t status, const char* body);
  // A graceful stop: an idle connection closes now, a busy one after its response.
  void finishRequests();
  // The response body is `length` bytes of `fd` from `offset` (the head is sent): handed to
  // the kernel with sendfile() on plain streams, else read into the send queue piece by
  // piece as it drains.
  void sendFileBody(UniqueFd fd, std::uint64_t offset, std::uint64_t length);

  std::uint64_t lastActive() const { return last_active_; }
  // The sweep saw input from the peer waiting unread in the kernel: it counts as activity.
  void noteActive(std::uint64_t now) { last_active_ = now; }
  bool handshaking() const { return opening_ == Opening::Handshaking; }
  // When the handshake began (meaningful while handshaking(), for handshake_timeout).
  std::uint64_t handshakeSince() const { return since_; }
  // When the unfinished message started (0 = none), for limits.message_timeout; for a
  // request session, when what it waits for (RequestSession::wait()) began.
  std::uint64_t partialSince() const {
    return stage_ == Stage::Open && !handshakeClock() ? since_ : 0;
  }
  // A heartbeat ping awaits any input from the peer.
  bool pingSent() const { return has(kPingSent); }
  // ...and is still in the output, not yet handed to the kernel.
  bool pingQueued() const { return has(kPingSent) && has(kPingQueued); }
  // When close() began (meaningful while the state is Closing).
  std::uint64_t closingSince() const { return since_; }
  // A Worker keeps one runtime for its life, so the connection need not store it. Inline:
  // the read and write paths ask for it several times per message.
  WorkerRuntime& runtime() const { return worker_->runtime(); }
  // The connected socket (-1 once closed).
  int fd() const { return fd_; }
  // Readiness of the socket from the loop's epoll set (EPOLLIN, EPOLLOUT, EPOLLERR,
  // EPOLLHUP); see EventLoop::watch.
  void socketEvents(std::uint32_t events);
  // After the socket closed and the loop's batch of events is done (EventLoop::retire):
  // the application hears onClose if it heard onConnect, and the connection is freed.
  void finishClose();
  bool isPipe() const { return has(kPipe); }
  // The kind of the message being answered (the last one received), else the protocol's.
  MessageKind replyKind() const { return reply_kind_; }

 private:
  ConnectionImpl(WorkerRuntime& runtime, std::unique_ptr<Codec> codec, Transport::Ptr transport);
  ~ConnectionImpl();

  // What the application sees: this connection, or for an outbound link its owner's
  // AsyncConnection (its callbacks, its counters, its maxSendBuffer).
  // Inline, as the read and send paths ask for them for every message; an outbound link's
  // come from its owner.
  Connection& face() { return outbound_ ? linkFace() : *this; }
  const ConnectionEvents& events() const {
    return outbound_ ? linkEvents() : static_cast<const ConnectionEvents&>(*worker_);
  }
  Connection& linkFace();
  const ConnectionEvents& linkEvents() const;
  // An outbound link that has not opened yet failed: the owner reports `why` to the
  // application as a connect failure. Only the first reason counts: it is the cause, and
  // what follows from it (the server hanging up after our TLS alert) is not.
  void linkFailure(std::string_view why);

  // The socket (connection_socket.cpp). The connection reads and writes its socket itself
  // (recv/send, as the kernel's socket calls cost less than read/write) and asks the loop
  // only for readiness (EventLoop::watch): an fd and two flags, against a libuv stream
  // handle's 248-264 bytes. Takes `fd` (made non-blocking); 0 or a negative libuv error,
  // `fd` left open.
  int watchSocket(int fd);
  // Starts a non-blocking connect of the socket to `addr` (or unix `path`); its result
  // arrives as writability (connected()).
  int startConnect(const sockaddr* addr, const std::string& path);
  // The outcome of the connect: the link opens, or fails with the socket's error.
  void connected();
  // Wants input (or not) from the loop; the epoll interest follows.
  void readStart();
  void readStop();
  // Sets the interest in the loop's epoll set from what the connection waits for.
  void rearm();
  // The interest registered in the loop's epoll set now (EPOLLIN, EPOLLOUT).
  std::uint32_t watchedEvents() const;
  // One recv() into the loop's read buffer: input, the peer's end, or an error.
  void readSocket();
  // The socket can take more of the pending write.
  void writable();
  // One send of `parts` (a gathered write); the bytes taken, or a negative libuv error
  // (a full socket counts as 0 taken).
  int sendParts(const std::string_view* parts, std::size_t count);
  // Stops watching and closes the socket (at once: nothing is left in flight); the loop
  // finishes the connection later (finishClose).
  void closeSocket();

  // Bytes from the socket: counted, then handed to the transport.
  void handleInput(const char* data, std::size_t size);
  // Decodes and delivers messages from `input`; returns the bytes consumed. Stops early on
  // an error, a close or a pause.
  std::size_t deliver(ByteSpan input);
  void protocolError(const DecodeResult& r);
  // Delivers the held input and drops what was consumed.
  void deliverHeld();
  // Starts (or stops) the unfinished-message clock after a batch of input was decoded.
  void notePartial();
  // Fairness: each loop pass gives a connection a share of bytes read and of steps decoded
  // (frames or messages). startShare() starts a fresh share when `pass` is a new one; it
  // runs before input is delivered, which counts the steps (deliver). spend() charges
  // `bytes` read and returns true while some of the share is left.
  void startShare(std::uint64_t pass) {
    if (budget_pass_ == static_cast<std::uint32_t>(pass)) return;
    budget_pass_ = static_cast<std::uint32_t>(pass);
    pass_bytes_ = 0;
    pass_steps_ = 0;
  }
  bool spend(std::size_t bytes);
  // Stops reading for the rest of this pass; continueInput() picks up in the next one.
  void yieldInput();
  void scheduleContinue();
  // Control frames count against maxSendBuffer like sends: false (and the connection is
  // closing with 1008) when the queue is already at the limit, the peer not reading.
  bool controlFits(const char* what);
  // Handshake, Ping, Pong and Close results of session protocols (connection_session.cpp).
  void sessionEvent(const DecodeResult& r);
  // Request and Body results of request/response protocols (connection_http.cpp).
  void requestEvent(const DecodeResult& r);
  void responseEnded(RequestSession& s);
  // Starts the clock of what the request session now waits for, when that changed.
  void noteRequestWait();
  // Sends more of a file body while the send queue is empty; ends the response after it.
  void pumpFile();
  void opened();
  void scheduleFlush();
  void flush();
  void afterWrite();
  void startClose();
  // The send side is flushed on a closing connection: close now, or linger.
  void flushedForClose();
  // Session protocols: appends the close message (once per connection). Returns true if
  // a message was queued now; the caller then lingers after it.
  bool queueClose(std::uint16_t code, std::string_view reason);
  // Closes after a flush; `linger`: the peer is being told why (see Stage).
  void closeAfterFlush(bool linger);
  // After a send was queued: onBufferFull once the queue reached maxSendBuffer.
  void noteQueued() {
    if (state_ == ConnectionState::Established && buffered() >= face().maxSendBuffer) bufferFull();
  }
  void bufferFull();
  // Everything queued so far was handed to the kernel.
  void noteWritten();
  // A transport finished its handshake: the application hears of the connection once
  // the protocol is open too.
  void transportReady();
  void failed(const char* what, int status);

  // The close lifecycle. ConnectionState (public) says Established, Closing or Closed;
  // the stage says what a closing connection waits for:
  //
  //   Open --close()--> Flushing ------------- flushed --------------> Closed --> freed
  //     |                                                                ^    (onClosed)
  //     +--close(), the peer told why--> FlushingToLinger --flushed--+   |
  //     |                                                            v   |
  //     |                            Lingering (FIN sent, input discarded until the
  //     |                            peer's FIN, an error or the close deadline) ---+
  //     +--destroy(), abort(), an I/O error, a deadline ----------------------------+
  //
  // Lingering exists because closing with the peer's data unread makes the kernel send a
  // reset, and the peer would likely lose the Close frame or HTTP error it has not read.
  enum class Stage : std::uint8_t { Open, Flushing, FlushingToLinger, Lingering, Closed };
  // How far the application got: it hears onClose only if it heard onConnect (Told).
  // NotStarted -> Handshaking (transport or protocol handshake; counted by the runtime)
  // -> Told; Silent: never to be told (refused at accept, an orphaned outbound link).
  enum class Opening : std::uint8_t { NotStarted, Handshaking, Told, Silent };
  // Conditions independent of the stages above and of each other.
  enum Flag : std::uint32_t {
    kPipe = 1 << 0,               // a unix socket (uv_pipe_t), else TCP
    kFlushScheduled = 1 << 1,     // in the loop's flush list
    kContinueScheduled = 1 << 2,  // continueInput() runs in the next loop pass
    kYielded = 1 << 3,            // reading stopped by the read budget until continueInput()
    kBufferFull = 1 << 4,         // onBufferFull fired; onBufferDrain is owed
    kPingSent = 1 << 5,           // a heartbeat ping awaits any input from the peer
    kCloseSent = 1 << 6,          // a session protocol's close message is queued
    kSendingFile = 1 << 7,        // a file body is being sent (WorkerRuntime::fileBody)
    // Request sessions: reading stopped while a response is owed and pipelined input
    // piles up.
    kAwaitingResponse = 1 << 8,
    kReading = 1 << 9,         // input wanted (the epoll set watches for it)
    kConnecting = 1 << 10,     // an outbound link's connect is under way
    kConnectFailed = 1 << 11,  // ...and failed at once: reported from the next loop pass
    kWatchRead = 1 << 12,      // the interest in the loop's epoll set: readable...
    kWatchWrite = 1 << 13,     // ...writable
    // Replies to input go out when that input is handled, not from the loop's flush pass:
    kCorked = 1 << 14,      // input from one read is being handled
    kFlushOwed = 1 << 15,   // ...and something was queued meanwhile
    kPingQueued = 1 << 16,  // the heartbeat ping is in the output, not yet written
    kCorkOut = 1 << 17,     // the output is the loop's cork (takeCork) until handed back
    // The last input decoded ended with a whole message and nothing after it: no clock of
    // an unfinished message to start (deliver, notePartial).
    kAtBoundary = 1 << 18,
  };
  bool has(Flag f) const { return (flags_ & f) != 0; }
  void set(Flag f) { flags_ |= f; }
  void clear(Flag f) { flags_ &= ~static_cast<std::uint32_t>(f); }
  // Moves to `stage`, and the public state with it.
  void enter(Stage stage);
  // since_ runs the handshake deadline: a handshake of a protocol without a request
  // session (those bound the handshake with their own first wait).
  bool handshakeClock() const { return opening_ == Opening::Handshaking && !requests(); }
  // The unfinished message is complete, or its clock stops (a pause): since_ reads 0
  // again, unless it runs another stage's deadline.
  void stopPartialClock() {
    if (stage_ == Stage::Open && !handshakeClock()) since_ = 0;
  }

  // A write the kernel did not take at once, sent as the socket becomes writable
  // (pending == writing).
  struct PendingWrite {
    std::string data;
    std::size_t offset = 0;  // bytes of data already sent
  };
  // What a connection holds only while it is busy, in one block allocated on first use
  // and freed when it holds nothing again (connection_held.cpp), so an idle connection
  // pays one pointer for all of it. Closing connections keep theirs. The buffers' storage
  // comes from the loop's BufferPool and goes back to it when they empty.
  struct Held {
    std::string in;   // undecoded tail of the input
    std::string out;  // encoded, not yet handed to the kernel
    std::unique_ptr<PendingWrite> pending;
  };
  // The block, allocated when absent (or taken from the thread's spare).
  Held& held() { return held_ ? *held_ : newHeld(); }
  Held& newHeld();
  static std::unique_ptr<Held>& spareHeld();
  // Where sends are encoded: the loop's cork while this connection owns it, else its own.
  std::string& out() { return has(kCorkOut) ? corkBuffer() : held().out; }
  // The cork (EventLoop::Cork). Taken for the handling of one read when nothing of this
  // connection's output waits: its replies are then written from there, and what is not
  // written when the read is handled moves to its own output (uncork). Whoever hands the
  // output on gives the cork back (handBack).
  void takeCork();
  void uncork();
  std::string& corkBuffer() const { return runtime().loop().cork().data; }
  // `s`, the output or what it was sealed into, was written or moved on: empties it, and
  // gives back the cork if it is that, else its storage as BufferPool::clear does.
  void handBack(std::string& s);
  void leaveCork(EventLoop::Cork& cork);
  bool holdsInput() const { return held_ && !held_->in.empty(); }
  std::size_t inputHeld() const { return held_ ? held_->in.size() : 0; }
  bool writing() const { return held_ && held_->pending; }
  // Frees the block when an open connection holds nothing in it any more. Called where
  // no reference into it is alive (the end of a read, of a write, of a gathered send).
  void settle() {
    if (held_) settleHeld();
  }
  void settleHeld();
  // Hands `wire` (the queued plaintext, or TLS ciphertext) to the kernel; what it does not
  // take goes to a PendingWrite, sent when the socket is writable. Either way `wire` is
  // left empty, its storage back in the loop's pool or moved to the PendingWrite.
  void write(std::string& wire);
  // One send of `wire`, counted; the bytes written, or a negative libuv error (a full
  // socket counts as 0 written).
  int tryWrite(std::string& wire);
  // Adds `n` bytes the kernel took to this connection's and its worker's counters.
  void countWritten(std::uint64_t n) {
    face().bytes_written_ += n;
    runtime().stats().bytes_out += n;
  }
  BufferPool& buffers() const;
  // Large sends on a stream whose transport passes bytes through, with no write in
  // flight: writes what is queued, the codec's head, the payload from where it lies and
  // the tail in one gathered write, and keeps only what the kernel did not take. False
  // when the codec has to transform the payload (the caller encodes as usual).
  // connection_gather.cpp.
  bool sendGathered(std::string_view data, MessageKind kind);
  // queue()'s rare ways, kept out of it so the common one stays short: a send refused
  // because the queue is full (onError), and a large one handed to the kernel from where
  // it lies (true when it was).
  [[gnu::cold]] SendStatus dropSend();
  bool sendLarge(std::string_view data, MessageKind kind);
  // Below this, copying a payload into the output costs less than the extra write it
  // would save.
  static constexpr std::size_t kGatherMin = 32 * 1024;
  friend class TlsTransport;

  // Every connection has these; what only a busy one needs is in Held. A field added here
  // is paid by each of a million idle connections (the static_assert in
  // connection_impl.cpp and tests/unit/core/connection_layout_test.cpp hold the line).
  std::unique_ptr<Codec> codec_;
  Transport::Ptr transport_;
  std::unique_ptr<Held> held_;
  Outbound* outbound_ = nullptr;  // the owner of an outbound link; nullptr when accepted
  std::uint64_t last_active_ = 0;
  // The clock of the one stage-bound deadline the connection has at a time (the wheel
  // reads it through the accessors above): while a handshake runs (handshakeClock()), when
  // it began; while open, when the unfinished message or the request session's wait began
  // (0 = none); while closing, when close() began.
  std::uint64_t since_ = 0;
  // Fairness: the loop pass the budget belongs to (its low 32 bits: a stamp that comes
  // round again after 2^32 passes only grants one extra pass), and what was spent of it.
  std::uint32_t budget_pass_ = 0;
  // Saturating: a pass stops at the first read or step past its share (at most 64 KiB
  // and 1024 steps), so neither comes near its bound.
  std::uint32_t pass_bytes_ : 20 = 0;
  std::uint32_t pass_steps_ : 12 = 0;
  std::uint32_t flags_ = 0;
  int fd_ = -1;
  Stage stage_ = Stage::Open;
  Opening opening_ = Opening::NotStarted;
  static constexpr std::uint8_t kNoWait = 0xff;
  std::uint8_t request_wait_ = kNoWait;  // the RequestSession::Wait whose clock runs
  MessageKind reply_kind_;
};

// Inline: every send checks it against maxSendBuffer, before and after queueing.
inline std::size_t ConnectionImpl::buffered() const {
  const std::size_t corked = has(kCorkOut) ? corkBuffer().size() : 0;
  if (!held_) return corked;
  const PendingWrite* p = held_->pending.get();
  return corked + held_->out.size() + (p ? p->data.size() - p->offset : 0);
}

}  // namespace wman::detail
