#include "http/http_request_decoder.h"

#include <llhttp.h>

#include <algorithm>
#include <new>

namespace wman {

using Status = HttpDecodeResult::Status;

// The llhttp callbacks, as static members of a friend so they can reach the decoder's state.
// Callbacks that store bytes catch std::bad_alloc: it must not unwind through llhttp's C.
struct HttpRequestDecoder::Callbacks {
  static HttpRequestDecoder& self(llhttp_t* p) {
    return *static_cast<HttpRequestDecoder*>(p->data);
  }

  template <typename F>
  static int guarded(llhttp_t* p, F&& f) {
    try {
      return f();
    } catch (const std::bad_alloc&) {
      return self(p).refuse(500, "out of memory");
    }
  }

  static int onUrl(llhttp_t* p, const char* at, std::size_t n) {
    return guarded(p, [&] {
      self(p).head_.appendUrl(at, n);
      return 0;
    });
  }
  // Trailer lines come through the same callbacks after the last chunk; they are checked
  // like header lines but not kept (wman hands no trailers to applications).
  static int onHeaderField(llhttp_t* p, const char* at, std::size_t n) {
    HttpRequestDecoder& d = self(p);
    if (d.phase_ != Phase::Head) {
      d.trailer_named_ = d.trailer_named_ || n > 0;
      return std::all_of(at, at + n, detail::isTokenChar) ? 0 : d.refuse(400, "bad trailer name");
    }
    return guarded(
        p, [&] { return d.head_.appendName(at, n) ? 0 : d.refuse(400, "invalid header name"); });
  }
  static int onHeaderValue(llhttp_t* p, const char* at, std::size_t n) {
    HttpRequestDecoder& d = self(p);
    if (d.phase_ != Phase::Head) return d.trailer_named_ ? 0 : d.refuse(400, "bad trailer name");
    return guarded(
        p, [&] { return d.head_.appendValue(at, n) ? 0 : d.refuse(400, "empty header name"); });
  }
  static int onHeaderValueComplete(llhttp_t* p) {
    HttpRequestDecoder& d = self(p);
    if (d.phase_ != Phase::Head) {
      const bool named = d.trailer_named_;
      d.trailer_named_ = false;
      return named ? 0 : d.refuse(400, "bad trailer name");
    }
    return d.head_.endValue() ? 0 : d.refuse(400, "empty header name");
  }
  // A request without a body goes straight on to on_message_complete; one with a body stops
  // here so the caller sees its head (100-continue, choice of streaming) before the body.
  static int onHeadersComplete(llhttp_t* p) {
    HttpRequestDecoder& d = self(p);
    if (d.phase_ != Phase::Head) return 0;
    if (const int err = guarded(p, [&d] { return d.checkHead(); })) return err;
    if (!d.request_.chunked && d.request_.content_length <= 0) return 0;
    d.pause_ = Pause::HeadersComplete;
    return HPE_PAUSED;
  }
  // Content-Length was checked against the limit at the head; chunks are checked at each
  // chunk header, so the body never grows past max_body_size here.
  static int onBody(llhttp_t* p, const char* at, std::size_t n) {
    HttpRequestDecoder& d = self(p);
    // llhttp flushes an open body span at the end of every call, even an empty one; an
    // empty piece reported as Body would make the caller spin.
    if (n == 0) return 0;
    d.body_bytes_ += n;
    if (d.stream_) {
      d.piece_ = std::string_view(at, n);
      d.pause_ = Pause::BodyPiece;
      return HPE_PAUSED;
    }
    return guarded(p, [&] {
      d.body_.append(at, n);
      return 0;
    });
  }
  // Called after each chunk-size line (extensions and CRLF included), with the size in
  // p->content_length. The last chunk (size 0) pauses so that decode() checks the trailer
  // section's lines and bounds its size like a head.
  static int onChunkHeader(llhttp_t* p) {
    HttpRequestDecoder& d = self(p);
    if (p->content_length == 0) {
      d.pause_ = Pause::LastChunk;
      return HPE_PAUSED;
    }
    if (p->content_length > d.options_.max_body_size - d.body_bytes_) {
      return d.refuse(413, "request body too large");
    }
    return 0;
  }
  // Extensions mean nothing to wman (RFC 9112 7.1.1: ignore unknown ones) but a peer could
  // send them without end, so their bytes are bounded like a head.
  static int onChunkExtension(llhttp_t* p, const char*, std::size_t n) {
    HttpRequestDecoder& d = self(p);
    d.extension_bytes_ += n;
    if (d.extension_bytes_ > d.options_.max_header_size) {
      return d.refuse(400, "chunk extensions too long");
    }
    return 0;
  }
  // Pausing here keeps the next pipelined request's bytes unconsumed. Keep-alive and
  // upgrade are read now, while llhttp still has this request's flags.
  static int onMessageComplete(llhttp_t* p) {
    HttpRequestDecoder& d = self(p);
    d.keep_alive_ = llhttp_should_keep_alive(p) != 0;
    d.upgrade_ = llhttp_get_upgrade(p) != 0;
    d.pause_ = Pause::Complete;
    return HPE_PAUSED;
  }

  static const llhttp_settings_t& settings() {
    static const llhttp_settings_t s = [] {
      llhttp_settings_t st;
      llhttp_settings_init(&st);
      st.on_url = onUrl;
      st.on_header_field = onHeaderField;
      st.on_header_value = onHeaderValue;
      st.on_header_value_complete = onHeaderValueComplete;
      st.on_headers_complete = onHeadersComplete;
      st.on_body = onBody;
      st.on_chunk_header = onChunkHeader;
      st.on_chunk_extension_name = onChunkExtension;
      st.on_chunk_extension_value = onChunkExtension;
      st.on_message_complete = onMessageComplete;
      return st;
    }();
    return s;
  }
};

HttpRequestDecoder::HttpRequestDecoder(const HttpDecoderOptions& options)
    : options_(options), parser_(std::make_unique<llhttp_t>()) {
  llhttp_init(parser_.get(), HTTP_REQUEST, &Callbacks::settings());
  parser_->data = this;
  startRequest();
}

HttpRequestDecoder::~HttpRequestDecoder() = default;

void HttpRequestDecoder::startRequest() {
  // A big body's buffer is not kept for the next request: idle keep-alive connections
  // would each hold the largest body they ever carried.
  constexpr std::size_t kKeptBodyCapacity = 64 * 1024;
  phase_ = Phase::Head;
  stream_ = options_.stream_body;
  head_.clear();
  lines_.start(true);
  head_bytes_ = 0;
  body_bytes_ = 0;
  extension_bytes_ = 0;
  trailer_named_ = false;
  if (body_.capacity() > kKeptBodyCapacity) std::string().swap(body_);
  body_.clear();
  piece_ = {};
  keep_alive_ = true;
  upgrade_ = false;
  // The header vector keeps its capacity: most requests on a connection look alike.
  std::vector<HttpHeader> headers = std::move(request_.headers);
  headers.clear();
  request_ = HttpRequest{};
  request_.headers = std::move(headers);
}

HttpRequestDecoder::State HttpRequestDecoder::state() const {
  switch (phase_) {
    case Phase::Head:
      return head_bytes_ == 0 ? State::Idle : State::Head;
    case Phase::Body:
    case Phase::Trailers:
      return State::Body;
    case Phase::Done:
      return State::Idle;
    case Phase::Upgraded:
      return State::Upgraded;
    case Phase::Closed:
      return State::Closed;
    case Phase::Failed:
      break;
  }
  return State::Failed;
}

void HttpRequestDecoder::continueAfterUpgrade() {
  if (phase_ != Phase::Upgraded) return;
  // llhttp would stop again with HPE_PAUSED_UPGRADE; the request is complete, so starting
  // it afresh loses nothing.
  llhttp_reset(parser_.get());
  phase_ = keep_alive_ ? Phase::Done : Phase::Closed;
}

HttpDecodeResult HttpRequestDecoder::decode(ByteSpan input) {
  switch (phase_) {
    case Phase::Failed:
      return {Status::Error, 0, {}, failure_status_, failure_reason_};
    case Phase::Closed:
      return {Status::NeedMore, input.size()};
    case Phase::Upgraded:
      return {};
    case Phase::Done:
      startRequest();
      break;
    default:
      break;
  }
  const char* data = reinterpret_cast<const char*>(input.data());
  std::size_t done = 0;
  while (true) {
    // Heads and trailer sections are bounded before llhttp sees them, so nothing stores
    // more than max_header_size for them and the 431 comes at an exact byte count.
    const bool lines = phase_ == Phase::Head || phase_ == Phase::Trailers;
    std::size_t n = input.size() - done;
    if (lines) {
      n = std::min(n, options_.max_header_size - head_bytes_);
      // llhttp only sees the bytes before a line-rule violation, so whichever fault comes
      // first in the stream is the one reported, however the input was split.
      const std::size_t clean = lines_.scan(std::string_view(data + done, n));
      if (lines_.error() != nullptr) n = clean;
    }
    pause_ = Pause::None;
    const llhttp_errno_t err = llhttp_execute(parser_.get(), data + done, n);
    std::size_t used = n;
    if (err == HPE_PAUSED) {
      used = static_cast<std::size_t>(llhttp_get_error_pos(parser_.get()) - (data + done));
      llhttp_resume(parser_.get());
    } else if (err != HPE_OK) {
      if (failure_status_ != 0) return fail(failure_status_, failure_reason_);
      return fail(400, llhttp_get_error_reason(parser_.get()));
    }
    if (lines) head_bytes_ += used;
    done += used;
    switch (pause_) {
      case Pause::None:
        if (lines && lines_.error() != nullptr) return fail(400, lines_.error());
        if (lines && head_bytes_ >= options_.max_header_size) {
          return fail(431, phase_ == Phase::Head ? "request header too large"
                                                 : "request trailers too large");
        }
        return {Status::NeedMore, done};
      case Pause::HeadersComplete:
        phase_ = Phase::Body;
        return {Status::Head, done};
      case Pause::LastChunk:
        phase_ = Phase::Trailers;
        lines_.start(false);
        head_bytes_ = 0;
        continue;
      case Pause::BodyPiece:
        return {Status::Body, done, piece_};
      case Pause::Complete:
        return complete(done);
    }
  }
}

HttpDecodeResult HttpRequestDecoder::complete(std::size_t consumed) {
  request_.keep_alive = keep_alive_;
  request_.upgrade = upgrade_;
  if (!stream_) request_.body = body_;
  phase_ = upgrade_ ? Phase::Upgraded : keep_alive_ ? Phase::Done : Phase::Closed;
  return {Status::Request, consumed};
}

HttpDecodeResult HttpRequestDecoder::fail(int status, std::string_view reason) {
  phase_ = Phase::Failed;
  failure_status_ = status;
  failure_reason_ = reason.data();
  return {Status::Error, 0, {}, status, reason};
}

int HttpRequestDecoder::refuse(int status, const char* reason) {
  failure_status_ = status;
  failure_reason_ = reason;
  return -1;
}

int HttpRequestDecoder::checkHead() {
  llhttp_t* p = parser_.get();
  HttpRequest& r = request_;
  if (p->http_major != 1 || p->http_minor > 1) return refuse(505, "HTTP version not supported");
  r.version_minor = p->http_minor;
  r.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  if (p->method == HTTP_CONNECT) return refuse(405, "CONNECT is not supported");
  head_.headers(r.headers);
  if (const int err = readTarget()) return err;

  // RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
  const auto hosts = std::count_if(r.headers.begin(), r.headers.end(), [](const HttpHeader& h) {
    return equalsIgnoreCase(h.first, "Host");
  });
  if (hosts > 1) return refuse(400, "more than one Host header");
  if (hosts == 0 && r.version_minor == 1) return refuse(400, "missing Host header");

  // llhttp has refused Transfer-Encoding with Content-Length and a chunked that is not the
  // last coding (it checks one whose last coding is not chunked only after this callback).
  r.chunked = (p->flags & F_CHUNKED) != 0;
  if ((p->flags & F_TRANSFER_ENCODING) != 0) {
    // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing, and a
    // request whose last coding is not chunked has no length at all.
    if (r.version_minor == 0) return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (!r.chunked) return refuse(400, "Transfer-Encoding must end with chunked");
    if (!equalsIgnoreCase(r.header("Transfer-Encoding"), "chunked")) {
      return refuse(501, "transfer coding not implemented");
    }
  }
  if ((p->flags & F_CONTENT_LENGTH) != 0) {
    if (p->content_length > options_.max_body_size) return refuse(413, "request body too large");
    r.content_length = static_cast<std::int64_t>(p->content_length);
  }
  if (r.hasHeader("Expect")) {
    // RFC 9110 10.1.1: 100-continue is the only expectation; HTTP/1.0 clients cannot have
    // meant it, so it is ignored from them.
    if (!equalsIgnoreCase(r.header("Expect"), "100-continue")) {
      return refuse(417, "unsupported expectation");
    }
    r.expect_continue = r.version_minor == 1 && (r.chunked || r.content_length > 0);
  }
  return 0;
}

// RFC 9112 3.2: origin-form ("/p?q"), absolute-form ("http://h/p?q", which a server must
// accept), and asterisk-form for OPTIONS; authority-form belongs to CONNECT, refused above.
int HttpRequestDecoder::readTarget() {
  HttpRequest& r = request_;
  r.target = head_.url();
  if (r.target == "*") {
    if (r.method != "OPTIONS") return refuse(400, "malformed request target");
    r.path = r.target;
    return 0;
  }
  std::string_view origin = r.target;
  if (!origin.starts_with('/')) {
    const std::size_t sep = origin.find("://");
    const std::string_view scheme = origin.substr(0, sep);
    if (sep == std::string_view::npos ||
        !(equalsIgnoreCase(scheme, "http") || equalsIgnoreCase(scheme, "https"))) {
      return refuse(400, "malformed request target");
    }
    const std::string_view rest = origin.substr(sep + 3);
    const std::size_t start = rest.find_first_of("/?#");
    origin = start == std::string_view::npos ? std::string_view{} : rest.substr(start);
  }
  detail::splitTarget(origin, r.path, r.query);
  if (r.path.empty()) r.path = "/";
  return 0;
}

}  // namespace wman
