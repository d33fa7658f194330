// The libuv side of a Connection: the stream handle, the read path (decode in place from
// the loop's shared buffer), the write path (gather during an iteration, flush once) and
// the close state machine (Established -> Closing -> Closed -> freed in the close callback).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "detail/deadline_wheel.h"
#include "wman/codec.h"
#include "wman/connection.h"
#include "wman/connection_events.h"
#include "wman/request_session.h"

namespace wman::detail {

class BufferPool;
class WorkerRuntime;
class TlsSession;
class TlsContext;
class Outbound;

// A DeadlineLink so that the runtime's deadline wheel holds it without an allocation.
class ConnectionImpl final : public Connection, public DeadlineLink {
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
  // memory budget.
  std::size_t heldBytes() const {
    return in_.capacity() + out_.capacity() + (pending_ ? pending_->data.capacity() : 0);
  }

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
  // The deadline of what the session waits for passed: 408 for a request that did not
  // arrive in time, a quiet close for an idle keep-alive connection.
  void requestTimedOut(RequestSession::Wait wait, std::uint64_t timeout_ms);
  // A graceful stop: an idle connection closes now, a busy one after its response.
  void finishRequests();
  // The response body is `length` bytes of `fd` from `offset` (the head is sent): handed to
  // the kernel with sendfile() on plain streams, else read into the send queue piece by
  // piece as it drains. Takes ownership of `fd`.
  void sendFileBody(int fd, std::uint64_t offset, std::uint64_t length);

  std::uint64_t lastActive() const { return last_active_; }
  // The sweep saw input from the peer waiting unread in the kernel: it counts as activity.
  void noteActive(std::uint64_t now) { last_active_ = now; }
  std::uint64_t acceptedAt() const { return accepted_at_; }
  bool handshaking() const { return handshaking_; }
  // When the unfinished message started (0 = none), for limits.message_timeout; for a
  // request session, when what it waits for (RequestSession::wait()) began.
  std::uint64_t partialSince() const { return partial_since_; }
  // A heartbeat ping awaits any input from the peer.
  bool pingSent() const { return ping_sent_; }
  std::uint64_t closingSince() const { return closing_since_; }
  WorkerRuntime& runtime() const { return *runtime_; }
  uv_stream_t* stream() { return &h_.stream; }
  bool isPipe() const { return is_pipe_; }
  // The kind of the message being answered (the last one received), else the protocol's.
  MessageKind replyKind() const { return reply_kind_; }

 private:
  ConnectionImpl(WorkerRuntime& runtime, std::unique_ptr<Codec> codec,
                 std::shared_ptr<TlsContext> tls);
  ~ConnectionImpl();

  // What the application sees: this connection, or for an outbound link its owner's
  // AsyncConnection (its callbacks, its counters, its maxSendBuffer).
  Connection& face();
  const ConnectionEvents& events() const;
  // An outbound link that has not opened yet failed: the owner reports `why` to the
  // application as a connect failure. Only the first reason counts: it is the cause, and
  // what follows from it (the server hanging up after our TLS alert) is not.
  void linkFailure(std::string_view why);
  static void onConnected(uv_connect_t* req, int status);

  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onClosed(uv_handle_t* h);

  // Bytes from the socket: counted, then decrypted (TLS) or decoded as they are.
  void handleInput(const char* data, std::size_t size);
  // TLS: feeds ciphertext to the session and decodes the plaintext it yields.
  void tlsInput(const char* data, std::size_t size);
  // Plaintext: decoded from `data` in place, an incomplete tail kept in in_.
  void handlePlain(const char* data, std::size_t size);
  // TLS: the first bytes are a plain HTTP request; answers 400 in the clear.
  bool refusePlainHttp(const char* data, std::size_t size);
  // Decodes and delivers messages from `input`; returns the bytes consumed. Stops early on
  // an error, a close or a pause.
  std::size_t deliver(ByteSpan input);
  void protocolError(const DecodeResult& r);
  // Delivers from in_ and drops what was consumed.
  void deliverHeld();
  // Starts (or stops) the unfinished-message clock after a batch of input was decoded.
  void notePartial();
  // Fairness: charges `bytes` read and `steps` decoded to this loop pass's budget; true
  // while some is left. A new pass starts a new budget.
  bool spend(std::size_t bytes, std::uint32_t steps);
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
  static void onShutdown(uv_shutdown_t* req, int status);
  // Session protocols: appends the close message (once per connection) and arranges to
  // linger after it. Returns true if a message was queued now.
  bool queueClose(std::uint16_t code, std::string_view reason);
  void failed(const char* what, int status);

  union Handle {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } h_{};
  // A write the kernel did not take at once, handed to libuv. Allocated only then, so an
  // idle connection does not carry a write request and its buffer.
  struct PendingWrite {
    uv_write_t req{};
    std::string data;
    std::size_t offset = 0;  // bytes of data uv_try_write already sent
  };
  std::unique_ptr<PendingWrite> pending_;
  // Hands `wire` (out_, or TLS ciphertext) to the kernel; what it does not take goes to
  // pending_ and libuv. Either way `wire` is left empty, its storage back in the loop's pool
  // or moved to pending_.
  void write(std::string& wire);
  // Adds `n` bytes the kernel took to this connection's and its worker's counters.
  void countWritten(std::uint64_t n);
  BufferPool& buffers() const;
  // Large sends on a plain stream with no write in flight: writes what is queued, the
  // codec's head, the payload from where it lies and the tail in one gathered write, and
  // keeps only what the kernel did not take. False when the codec has to transform the
  // payload (the caller encodes as usual). connection_gather.cpp.
  bool sendGathered(std::string_view data, MessageKind kind);
  // Below this, copying a payload into out_ costs less than the extra write it would save.
  static constexpr std::size_t kGatherMin = 32 * 1024;
  WorkerRuntime* runtime_;
  Outbound* outbound_ = nullptr;  // the owner of an outbound link; nullptr when accepted
  std::unique_ptr<Codec> codec_;
  std::unique_ptr<TlsSession> tls_;  // TLS transport, or nullptr for plain TCP / unix
  // Undecoded tail of the input, and encoded output not yet handed to the kernel. Both hold
  // storage only while they hold bytes (from the loop's BufferPool).
  std::string in_;
  std::string out_;
  std::uint64_t last_active_ = 0;
  std::uint64_t accepted_at_ = 0;
  std::uint64_t closing_since_ = 0;
  // Fairness: the loop pass the budget below belongs to, and what was spent of it.
  std::uint64_t budget_pass_ = 0;
  std::size_t pass_bytes_ = 0;
  std::uint32_t pass_steps_ = 0;
  std::uint64_t partial_since_ = 0;  // see partialSince()
  MessageKind reply_kind_;
  bool is_pipe_ = false;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  bool yielded_ = false;             // reading stopped by the read budget until continueInput()
  bool continue_scheduled_ = false;  // continueInput() runs in the next loop pass
  bool buffer_full_ = false;
  bool silent_ = false;        // refused at accept: the application never hears of it
  bool close_sent_ = false;    // a session protocol's close message is already queued
  bool handshaking_ = false;   // counted in the runtime's handshaking_ until open or closed
  bool ping_sent_ = false;     // a heartbeat ping awaits any input from the peer
  bool sending_file_ = false;  // a file body is being sent (WorkerRuntime::fileBody)
  // Request sessions: reading stopped while a response is owed and pipelined input piles up.
  bool awaiting_response_ = false;
  static constexpr std::uint8_t kNoWait = 0xff;
  std::uint8_t request_wait_ = kNoWait;  // the RequestSession::Wait whose clock runs
  // Told the peer why it is closed (a Close frame, an HTTP error): after the flush, shut the
  // send side down and read until the peer closes, so its unread data cannot turn the close
  // into a reset that destroys the message before the peer reads it.
  bool linger_ = false;
  bool lingering_ = false;  // the send side is shut down; reading until the peer closes
};

}  // namespace wman::detail
