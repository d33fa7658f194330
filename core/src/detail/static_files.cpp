#include "detail/static_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "detail/http_preconditions.h"
#include "wman/http.h"

namespace wman::detail {

// A request path, percent-decoded once and split into segments.
struct RequestPath {
  int status = 0;                     // 400 or 404 when the path is refused before any lookup
  std::vector<std::string> segments;  // decoded; no empty, "." or ".." segment
  bool trailing_slash = false;        // the path ends in '/' (it must name a directory)

  // The path relative to the root, as openat(2) takes it: "a/b", or "." for the root.
  std::string relative() const {
    if (segments.empty()) return ".";
    std::string out;
    for (const std::string& segment : segments) {
      if (!out.empty()) out.push_back('/');
      out.append(segment);
    }
    return out;
  }
};

namespace {

// O_NONBLOCK, as nginx opens files: a FIFO planted under the root must not block the loop in
// open(2); it is then refused as not a regular file.
constexpr int kFileFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
// A directory that is searchable but not readable (mode 0711) still has a servable index.
constexpr int kSearchFlags = O_PATH | O_DIRECTORY | O_CLOEXEC;

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Files whose name starts with '.' (.git, .env, .htpasswd) are kept private: they are almost
// always repository or secret files that happen to sit in the served tree, never content.
// ".." is a Bad Request (400, as nginx answers a path that climbs above its root) rather
// than resolved lexically, since no honest client sends one: browsers remove dot segments.
int finishSegment(std::string& segment, std::vector<std::string>& segments) {
  int status = 0;
  if (segment == "..") {
    status = 400;
  } else if (!segment.empty() && segment != "." && segment.front() == '.') {
    status = 404;
  } else if (!segment.empty() && segment != ".") {
    segments.push_back(segment);
  }
  segment.clear();
  return status;
}

// Decodes `path` once: a second decoding would turn "%252e" into a dot segment after the
// checks ran. A decoded NUL would cut the name short in the kernel (400). An encoded '/' or
// a backslash would let one segment span directories or mean one on other systems; nginx
// answers those 404, and so does wman.
RequestPath parsePath(std::string_view path) {
  RequestPath out;
  if (path.empty() || path.front() != '/') {
    out.status = 400;  // "*" (OPTIONS) or a malformed target
    return out;
  }
  std::string segment;
  for (std::size_t i = 0; i < path.size() && out.status == 0; ++i) {
    char c = path[i];
    if (c == '/') {
      out.status = finishSegment(segment, out.segments);
      continue;
    }
    if (c == '%') {
      const int high = i + 2 < path.size() ? hexDigit(path[i + 1]) : -1;
      const int low = high >= 0 ? hexDigit(path[i + 2]) : -1;
      if (low < 0) {
        out.status = 400;
        break;
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
      if (c == '/') out.status = 404;
    }
    if (c == '\0') out.status = 400;
    if (c == '\\') out.status = 404;
    segment.push_back(c);
  }
  if (out.status == 0) out.status = finishSegment(segment, out.segments);
  out.trailing_slash = path.back() == '/';
  return out;
}

// Percent-encodes a decoded segment for a Location header, keeping what RFC 3986 allows in a
// path segment as is.
void appendEncodedSegment(std::string_view segment, std::string& out) {
  static constexpr std::string_view kKept = "-._~!$&'()*+,;=:@";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : segment) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        kKept.find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
}

int statusForOpenError(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ENXIO:  // a UNIX socket
    case ENODEV:
      return 404;
    case EACCES:
    case EPERM:
    case ELOOP:  // a symlink the resolver refuses
    case EXDEV:  // openat2: the path leaves the root
      return 403;
    default:
      return 500;
  }
}

int openat2Beneath(int dir, const char* path, int flags) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, path, &how, sizeof how));
}

StaticReply textReply(int status, int error = 0) {
  StaticReply reply;
  reply.head.status = status;
  reply.head.set("Content-Type", "text/plain; charset=utf-8");
  reply.body = std::to_string(status);
  reply.body.append(" ").append(httpReasonPhrase(status)).append("\n");
  reply.error = error;
  return reply;
}

// What identifies one version of a file. The ETag has nginx's shape, "<hex mtime>-<hex
// size>", but with the mtime in nanoseconds, so a rewrite within the same second changes it.
// It is strong: a file of the same size and nanosecond mtime is taken to be the same bytes.
struct Validators {
  std::string etag;
  std::int64_t modified = 0;  // Last-Modified, in seconds
};

Validators validatorsOf(const struct stat& st, std::int64_t now) {
  const std::uint64_t mtime_ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000u +
                                 static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
  char buf[48];
  std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(mtime_ns),
                static_cast<unsigned long long>(st.st_size));
  // RFC 9110 8.8.2.1: a Last-Modified later than the response's Date is replaced by it.
  return {buf, st.st_mtim.tv_sec < now ? st.st_mtim.tv_sec : now};
}

bool anyLineMatches(const HttpRequest& request, std::string_view name, std::string_view etag,
                    bool weak) {
  for (const auto& [header, value] : request.headers) {
    if (equalsIgnoreCase(header, name) && entityTagListMatches(value, etag, weak)) return true;
  }
  return false;
}

// RFC 9110 13.2.2 order: If-Match, else If-Unmodified-Since (412 when false); then
// If-None-Match, else If-Modified-Since (304 when false for GET and HEAD, the only methods
// that get here). A date that does not parse is ignored, as 13.1.3 and 13.1.4 require.
// Returns 0 when the request goes on.
int evaluatePreconditions(const HttpRequest& request, const Validators& v) {
  if (request.hasHeader("If-Match")) {
    if (!anyLineMatches(request, "If-Match", v.etag, false)) return 412;
  } else if (auto since = parseHttpDate(request.header("If-Unmodified-Since"))) {
    if (v.modified > *since) return 412;
  }
  if (request.hasHeader("If-None-Match")) {
    if (anyLineMatches(request, "If-None-Match", v.etag, true)) return 304;
  } else if (auto since = parseHttpDate(request.header("If-Modified-Since"))) {
    if (v.modified <= *since) return 304;
  }
  return 0;
}

// RFC 9110 13.1.5: an entity tag starts with a double quote (or W/, which never matches as
// the comparison is strong); anything else is a date that must equal Last-Modified exactly.
bool ifRangeHolds(std::string_view value, const Validators& v) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.starts_with('"') || value.starts_with("W/")) return value == v.etag;
  const auto date = parseHttpDate(value);
  return date && *date == v.modified;
}

// The part of the file a GET asks for; None means the whole file with 200.
ByteRange selectRange(const HttpRequest& request, const Validators& v, std::uint64_t size) {
  // Range is defined for GET only (RFC 9110 14.2), so a HEAD announces the whole file. An
  // empty file has no byte a range could name; a server may ignore Range, and answering it
  // whole (200, length 0) serves a resuming client better than a 416.
  if (request.method != "GET" || size == 0 || !request.hasHeader("Range")) return {};
  int lines = 0;
  for (const auto& header : request.headers) lines += equalsIgnoreCase(header.first, "Range");
  if (lines != 1) return {};  // not a single field value: invalid, so ignored
  if (request.hasHeader("If-Range") && !ifRangeHolds(request.header("If-Range"), v)) return {};
  const ByteRange range = parseByteRange(request.header("Range"), size);
  // Several ranges would need a multipart/byteranges body. RFC 9110 14.2 lets a server
  // ignore Range, so they get the whole file with 200: one response instead of many parts,
  // and clients that ask for several ranges all handle it.
  if (range.kind == RangeKind::Multiple) return {};
  return range;
}

StaticReply answerFile(const HttpRequest& request, UniqueFd file, const struct stat& st,
                       std::string_view name, std::int64_t now) {
  const Validators v = validatorsOf(st, now);
  StaticReply reply;
  reply.head.set("Content-Type", contentTypeFor(name));
  reply.head.set("ETag", v.etag);
  reply.head.set("Last-Modified", formatHttpDate(v.modified));
  reply.head.set("Accept-Ranges", "bytes");
  const int precondition = evaluatePreconditions(request, v);
  if (precondition == 412) return textReply(412);
  if (precondition == 304) {
    reply.head.status = 304;
    return reply;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const ByteRange range = selectRange(request, v, size);
  if (range.kind == RangeKind::Unsatisfiable) {
    StaticReply refused = textReply(416);
    refused.head.set("Content-Range", "bytes */" + std::to_string(size));
    return refused;
  }
  reply.file = std::move(file);
  reply.length = size;
  if (range.kind == RangeKind::Single) {
    reply.head.status = 206;
    reply.offset = range.offset;
    reply.length = range.length;
    reply.head.set("Content-Range", "bytes " + std::to_string(range.offset) + "-" +
                                        std::to_string(range.offset + range.length - 1) + "/" +
                                        std::to_string(size));
  }
  return reply;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  return std::exchange(fd_, -1);
}

void UniqueFd::reset(int fd) {
  // close(2) releases the descriptor even when it reports an error; retrying could close
  // one another thread just got, so the result is not looked at.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

StaticRoot::StaticRoot(UniqueFd root, std::vector<std::string> index, Resolver resolver)
    : root_(std::move(root)), index_(std::move(index)), resolver_(resolver) {}

std::unique_ptr<StaticRoot> StaticRoot::open(const StaticFileOptions& options, std::string& error) {
  for (const std::string& name : options.index) {
    if (name.empty() || name == "." || name == ".." ||
        name.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
      error = "invalid index name \"" + name + "\": a plain file name is expected";
      return nullptr;
    }
  }
  UniqueFd root(::open(options.root.c_str(), kSearchFlags));
  // O_PATH checks no permission; searching the directory is what serving needs.
  if (!root || ::faccessat(root.get(), ".", X_OK, 0) != 0) {
    error = "cannot open root " + options.root + ": " + std::strerror(errno);
    return nullptr;
  }
  // ENOSYS before Linux 5.6; EPERM from seccomp filters that predate openat2 (older
  // container runtimes). Opening "." with O_PATH cannot fail with either otherwise.
  Resolver resolver = Resolver::Openat2;
  UniqueFd probe(openat2Beneath(root.get(), ".", kSearchFlags));
  if (!probe && (errno == ENOSYS || errno == EPERM)) resolver = Resolver::Walk;
  return std::unique_ptr<StaticRoot>(new StaticRoot(std::move(root), options.index, resolver));
}

StaticRoot::Opened StaticRoot::openBeneath(const std::string& relative_path, int flags) const {
  if (resolver_ == Resolver::Walk) return walkBeneath(relative_path, flags);
  Opened out;
  // EAGAIN: a concurrent rename kept the kernel from proving the walk stayed beneath the
  // root; it is worth a few more tries before giving up with a 500.
  for (int attempt = 0; attempt < 4; ++attempt) {
    out.fd.reset(openat2Beneath(root_.get(), relative_path.c_str(), flags));
    out.error = out.fd ? 0 : errno;
    if (out.error != EAGAIN) break;
  }
  return out;
}

// The fallback resolver: directories one at a time with O_NOFOLLOW, so no symlink is ever
// followed (a symlinked directory fails with ENOTDIR, a symlinked file with ELOOP). Checking
// where each symlink points would race with changes to the tree, which openat2 does not.
StaticRoot::Opened StaticRoot::walkBeneath(const std::string& relative_path, int flags) const {
  Opened out;
  UniqueFd dir;
  std::string_view rest = relative_path;
  for (;;) {
    const std::size_t slash = rest.find('/');
    const std::string name(rest.substr(0, slash));
    const int at = dir ? dir.get() : root_.get();
    if (slash == std::string_view::npos) {
      out.fd.reset(::openat(at, name.c_str(), flags | O_NOFOLLOW));
      out.error = out.fd ? 0 : errno;
      return out;
    }
    dir.reset(::openat(at, name.c_str(), kSearchFlags | O_NOFOLLOW));
    if (!dir) {
      out.error = errno;
      return out;
    }
    rest.remove_prefix(slash + 1);
  }
}

StaticReply StaticRoot::serve(const HttpRequest& request, std::int64_t now) const {
  if (request.method != "GET" && request.method != "HEAD") {
    StaticReply reply = textReply(405);
    reply.head.set("Allow", "GET, HEAD");
    return reply;
  }
  const RequestPath path = parsePath(request.path);
  if (path.status != 0) return textReply(path.status);
  Opened target = openBeneath(path.relative(), kFileFlags);
  if (!target.fd && target.error == EACCES) {
    Opened dir = openBeneath(path.relative(), kSearchFlags);
    if (dir.fd) target = std::move(dir);
  }
  if (!target.fd) return textReply(statusForOpenError(target.error), target.error);
  struct stat st {};
  if (::fstat(target.fd.get(), &st) != 0) return textReply(500, errno);
  if (S_ISDIR(st.st_mode)) return serveDirectory(request, path, now);
  // "/file.txt/" names a directory, so it does not exist, as open(2) would say.
  if (!S_ISREG(st.st_mode) || path.trailing_slash) return textReply(404);
  return answerFile(request, std::move(target.fd), st, path.segments.back(), now);
}

StaticReply StaticRoot::serveDirectory(const HttpRequest& request, const RequestPath& path,
                                       std::int64_t now) const {
  if (!path.trailing_slash) {
    // Relative links in an index page resolve against the directory only when its URL ends
    // in '/', so redirect there as nginx does. The Location is rebuilt from the decoded
    // segments: "//evil.example" must not turn into a redirect to another host.
    StaticReply reply = textReply(301);
    std::string location;
    for (const std::string& segment : path.segments) {
      location.push_back('/');
      appendEncodedSegment(segment, location);
    }
    location.push_back('/');
    if (!request.query.empty()) location.append("?").append(request.query);
    reply.head.set("Location", location);
    return reply;
  }
  const std::string dir = path.segments.empty() ? std::string() : path.relative() + "/";
  for (const std::string& name : index_) {
    Opened index = openBeneath(dir + name, kFileFlags);
    if (!index.fd && index.error == ENOENT) continue;
    if (!index.fd) return textReply(statusForOpenError(index.error), index.error);
    struct stat st {};
    if (::fstat(index.fd.get(), &st) != 0) return textReply(500, errno);
    if (S_ISREG(st.st_mode)) return answerFile(request, std::move(index.fd), st, name, now);
  }
  return textReply(404);  // no index: wman never lists a directory
}

std::string_view contentTypeFor(std::string_view file_name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},  // RFC 9239
      {"mjs", "text/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"txt", "text/plain; charset=utf-8"},
      {"md", "text/markdown; charset=utf-8"},
      {"csv", "text/csv; charset=utf-8"},
      {"xml", "text/xml; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"avif", "image/avif"},
      {"ico", "image/x-icon"},
      {"wasm", "application/wasm"},
      {"pdf", "application/pdf"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"mp3", "audio/mpeg"},
      {"ogg", "audio/ogg"},
      {"wav", "audio/wav"},
      {"mp4", "video/mp4"},
      {"webm", "video/webm"},
  };
  const std::size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const std::size_t dot = file_name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    const std::string_view extension = file_name.substr(dot + 1);
    for (const auto& [known, type] : kTypes) {
      if (equalsIgnoreCase(extension, known)) return type;
    }
  }
  return "application/octet-stream";
}

}  // namespace wman::detail
