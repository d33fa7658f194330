// The static-file resolver of http:// workers: it decides what to answer for a GET or HEAD
// of a file under a configured root (status, headers, and which bytes of which file), the
// way an nginx user expects. It writes to no socket; the HTTP worker sends what it returns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wman/http.h"

namespace wman::detail {

struct RequestPath;  // a decoded request path (static_files.cpp)

// A file descriptor closed on destruction; movable, not copyable. -1 means none.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  // Gives up ownership: the caller closes the returned descriptor.
  int release();
  // Closes the descriptor held (if any) and takes `fd`.
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct StaticFileOptions {
  // The directory served. A relative path is resolved once, against the working directory
  // of the process that calls StaticRoot::open.
  std::string root;
  // Names tried, in order, for a request whose path names a directory ("/" or "/docs/").
  // Plain file names only: no '/', and not "." or "..".
  std::vector<std::string> index = {"index.html"};
};

// What to answer. The caller writes `head` (status and headers), then either `body` (for
// errors and redirects) or `length` bytes of `file` starting at `offset`.
struct StaticReply {
  // 200, 206, 301, 304, 400, 403, 404, 405, 412, 416 or 500. Date, Content-Length and
  // Connection are left to the response encoder.
  HttpResponseHead head;
  // Set for 200 and 206, also for HEAD so the caller knows the length (it may skip sending).
  // Opened read-only with O_NONBLOCK|O_CLOEXEC, like nginx (O_NONBLOCK has no effect on the
  // regular files that are returned; it only keeps a FIFO from blocking the open).
  UniqueFd file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // bytes of the file to send (the Content-Length of 200/206)
  std::string body;          // error/redirect text body (text/plain), empty otherwise
  // The errno behind a 403 or 500 (0 otherwise), for the caller's log line.
  int error = 0;
};

// One served directory, opened once for a worker's lifetime. serve() is const and keeps no
// state between requests, so one StaticRoot may answer any number of requests.
class StaticRoot {
 public:
  // How paths are resolved beneath the root. Openat2 lets the kernel refuse any step out of
  // the root (symlinks inside the root work); Walk, used where the kernel lacks openat2
  // (before Linux 5.6, or a seccomp filter that refuses it), opens one component at a time
  // with O_NOFOLLOW and so refuses every symlink.
  enum class Resolver { Openat2, Walk };

  // Opens `options.root` (an O_PATH|O_DIRECTORY descriptor kept until destruction) and
  // picks the resolver. nullptr with `error` set ("cannot open root DIR: reason") when the
  // root is not a searchable directory or an index name is not a plain file name.
  static std::unique_ptr<StaticRoot> open(const StaticFileOptions& options, std::string& error);

  // Answers a GET or HEAD for `request`. `now` is the current time in seconds since 1970,
  // passed in so tests are deterministic (a Last-Modified is never later than it).
  StaticReply serve(const HttpRequest& request, std::int64_t now) const;

  Resolver resolver() const { return resolver_; }
  // Tests force Walk to exercise the fallback; setting Openat2 where the kernel lacks it
  // makes every request a 500.
  void setResolver(Resolver resolver) { resolver_ = resolver; }

 private:
  struct Opened {
    UniqueFd fd;
    int error = 0;  // errno when fd is not set
  };
  StaticRoot(UniqueFd root, std::vector<std::string> index, Resolver resolver);
  // Opens `relative_path` ("a/b", "." for the root itself) with open(2) `flags`, never
  // leaving the root.
  Opened openBeneath(const std::string& relative_path, int flags) const;
  Opened walkBeneath(const std::string& relative_path, int flags) const;
  StaticReply serveDirectory(const HttpRequest& request, const RequestPath& path,
                             std::int64_t now) const;

  UniqueFd root_;
  std::vector<std::string> index_;
  Resolver resolver_;
};

// The Content-Type for a file name, by its extension (case-insensitive): the common web
// types, text ones with "; charset=utf-8"; "application/octet-stream" for anything else.
std::string_view contentTypeFor(std::string_view file_name);

}  // namespace wman::detail
