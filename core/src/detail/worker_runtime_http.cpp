// WorkerRuntime's part of request/response protocols: handing a request to onRequest or to
// the static files, the Date header, response counters and file bodies in flight.
#include <unistd.h>

#include <ctime>

#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/static_files.h"
#include "detail/worker_runtime.h"
#include "wman/http.h"

namespace wman::detail {

std::error_code WorkerRuntime::setupStatic() {
  static_root_.reset();
  if (worker_.http.root.empty()) return {};
  StaticFileOptions options;
  options.root = worker_.http.root;
  options.index = worker_.http.index;
  std::string error;
  static_root_ = StaticRoot::open(options, error);
  if (!static_root_) {
    log().error("worker {}: http.root: {}", worker_.name, error);
    return std::make_error_code(std::errc::invalid_argument);
  }
  return {};
}

void WorkerRuntime::serveRequest(ConnectionImpl& c, Request& req, Response& res,
                                 const std::function<void()>& failed) {
  if (worker_.onRequest) {
    dispatch(c.id(), "onRequest", worker_.onRequest, failed, req, res);
    return;
  }
  serveStatic(c);
}

SendStatus WorkerRuntime::serveStatic(ConnectionImpl& c) {
  RequestSession* s = c.requests();
  if (!s || !s->answering() || s->responseStarted()) return SendStatus::NotConnected;
  if (!static_root_) {
    s->responseHead() = HttpResponseHead{};
    s->responseHead().status = 404;
    s->responseHead().set("Content-Type", "text/plain; charset=utf-8");
    return c.respond([this](RequestSession& session, std::string& out) {
      session.respond("not found\n", httpDate(), out);
    });
  }
  StaticReply reply = static_root_->serve(s->request(), static_cast<std::int64_t>(::time(nullptr)));
  // Headers the application set before falling back to the files (Cache-Control, say)
  // stay, unless the file's answer sets the same ones.
  HttpResponseHead& head = s->responseHead();
  head.status = reply.head.status;
  head.reason = reply.head.reason;
  for (const auto& [name, value] : reply.head.headers) head.set(name, value);
  if (!reply.file) {
    return c.respond([this, &reply](RequestSession& session, std::string& out) {
      session.respond(reply.body, httpDate(), out);
    });
  }
  const auto length = static_cast<std::int64_t>(reply.length);
  if (reply.length <= kInlineFileMax) {
    // A small file goes out with its head in one write: reading it costs less than the
    // second system call (and wake-up) a separate sendfile() would.
    std::string& data = inline_file_;
    data.resize(static_cast<std::size_t>(reply.length));
    const ssize_t got =
        ::pread(reply.file.get(), data.data(), data.size(), static_cast<off_t>(reply.offset));
    if (got == length) {
      return c.respond([this, length, &data](RequestSession& session, std::string& out) {
        session.respondHead(length, httpDate(), out);
        if (session.sendsBody()) session.respondBody(data, out);
        session.respondEnd(out);
      });
    }
  }
  SendStatus status = c.respond([this, length](RequestSession& session, std::string& out) {
    session.respondHead(length, httpDate(), out);
  });
  if (status == SendStatus::Dropped || status == SendStatus::NotConnected) return status;
  if (!s->sendsBody() || reply.length == 0) {
    return c.respond([](RequestSession& session, std::string& out) { session.respondEnd(out); });
  }
  c.sendFileBody(std::move(reply.file), reply.offset, reply.length);
  return status;
}

std::string_view WorkerRuntime::httpDate() {
  const std::int64_t now = static_cast<std::int64_t>(::time(nullptr));
  if (now != http_date_second_) {
    http_date_second_ = now;
    http_date_ = formatHttpDate(now);
  }
  return http_date_;
}

void WorkerRuntime::countResponse(int status) {
  const int group = status / 100;
  if (group >= 1 && group <= 5) stats_.http_responses[group - 1]++;
}

WorkerRuntime::FileBody& WorkerRuntime::fileBody(ConnectionImpl& c) {
  return file_bodies_[c.id()];
}

WorkerRuntime::FileBody* WorkerRuntime::findFileBody(ConnectionId id) {
  const auto it = file_bodies_.find(id);
  return it == file_bodies_.end() ? nullptr : &it->second;
}

}  // namespace wman::detail
