#include "detail/connection_impl.h"
#include "detail/worker_runtime.h"
#include "wman/http_server.h"

namespace wman {

using detail::ConnectionImpl;

ConnectionImpl* Response::current() const {
  if (!runtime_) return nullptr;
  Connection* conn = runtime_->find(id_);
  if (!conn) return nullptr;
  ConnectionImpl* c = ConnectionImpl::from(*conn);
  const RequestSession* s = c->requests();
  // Another request's handle (this one's response ended) must not touch the next response.
  if (c->state() != ConnectionState::Established || !s || !s->answering() ||
      s->requestNumber() != number_) {
    return nullptr;
  }
  return c;
}

Response& Response::status(int code, std::string_view reason) {
  if (ConnectionImpl* c = current(); c && !c->requests()->responseStarted()) {
    HttpResponseHead& head = c->requests()->responseHead();
    head.status = code;
    head.reason = std::string(reason);
  }
  return *this;
}

Response& Response::header(std::string_view name, std::string_view value) {
  if (ConnectionImpl* c = current(); c && !c->requests()->responseStarted())
    c->requests()->responseHead().set(name, value);
  return *this;
}

Response& Response::addHeader(std::string_view name, std::string_view value) {
  if (ConnectionImpl* c = current(); c && !c->requests()->responseStarted())
    c->requests()->responseHead().add(name, value);
  return *this;
}

Response& Response::contentLength(std::uint64_t bytes) {
  length_ = static_cast<std::int64_t>(bytes);
  return *this;
}

SendStatus Response::end(std::string_view body) {
  ConnectionImpl* c = current();
  if (!c) return SendStatus::NotConnected;
  auto& runtime = c->runtime();
  return c->respond([&runtime, body](RequestSession& s, std::string& out) {
    if (s.responseStarted()) {
      s.respondBody(body, out);
      s.respondEnd(out);
    } else {
      s.respond(body, runtime.httpDate(), out);
    }
  });
}

SendStatus Response::end() {
  return end(std::string_view{});
}

SendStatus Response::write(std::string_view data) {
  ConnectionImpl* c = current();
  if (!c) return SendStatus::NotConnected;
  auto& runtime = c->runtime();
  const std::int64_t length = length_;
  return c->respond([&runtime, data, length](RequestSession& s, std::string& out) {
    if (!s.responseStarted()) s.respondHead(length, runtime.httpDate(), out);
    s.respondBody(data, out);
  });
}

SendStatus Response::startEvents() {
  ConnectionImpl* c = current();
  if (!c || c->requests()->responseStarted()) return SendStatus::NotConnected;
  HttpResponseHead& head = c->requests()->responseHead();
  head.set("Content-Type", "text/event-stream");
  head.set("Cache-Control", "no-cache");
  auto& runtime = c->runtime();
  return c->respond([&runtime](RequestSession& s, std::string& out) {
    s.respondHead(-1, runtime.httpDate(), out);
  });
}

SendStatus Response::event(std::string_view data, std::string_view name, std::string_view id) {
  // The event stream format (HTML Living Standard 9.2): one field per line, a blank line
  // ends the event. Line breaks in `data` start new data: lines; in a name or an id they
  // would start fields the caller did not mean, so those are cut there.
  auto firstLine = [](std::string_view v) { return v.substr(0, v.find_first_of("\r\n")); };
  std::string text;
  text.reserve(data.size() + name.size() + id.size() + 32);
  if (!name.empty()) text.append("event: ").append(firstLine(name)).append("\n");
  if (!id.empty()) text.append("id: ").append(firstLine(id)).append("\n");
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = data.find('\n', start);
    std::string_view line = data.substr(start, end == std::string_view::npos ? end : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    text.append("data: ").append(line).append("\n");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  text.append("\n");
  return write(text);
}

SendStatus Response::serveStatic() {
  ConnectionImpl* c = current();
  return c ? c->runtime().serveStatic(*c) : SendStatus::NotConnected;
}

bool Response::active() const {
  return current() != nullptr;
}

Connection* Response::connection() const {
  return runtime_ ? runtime_->find(id_) : nullptr;
}

}  // namespace wman
