// StaticRoot: what an http:// worker answers for a static file. Each rule an nginx user
// relies on, on a real directory tree in a temporary directory: path decoding and escapes,
// symlinks inside and outside the root, dotfiles, directories and index files, validators
// and conditionals, byte ranges, HEAD, content types, and the fallback resolver.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "detail/http_preconditions.h"
#include "detail/static_files.h"
#include "wman/http.h"

using wman::HttpHeader;
using wman::HttpRequest;
using wman::detail::StaticFileOptions;
using wman::detail::StaticReply;
using wman::detail::StaticRoot;
using wman::detail::UniqueFd;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;                        // Fri, 15 Jan 2027 08:00:00 GMT
constexpr std::int64_t kMtime = 1'700'000'000;                      // Tue, 14 Nov 2023 22:13:20 GMT
constexpr long kMtimeNs = 123'456'789;                              // so the ETag shows nanoseconds
constexpr std::string_view kDigitsEtag = "\"17979cfe3d85cd15-a\"";  // digits.txt, 10 bytes

// A served tree under a fresh temporary directory, removed with everything in it:
//   outside/secret.txt                      (next to the root, never served)
//   root/{index.html, digits.txt, empty.txt, a b.txt, .env, .git/config}
//   root/sub/{index.html, style.css, .hidden}   root/noindex/   root/fifo
//   root/inside -> digits.txt   root/subdir -> sub   root/escape -> ../outside/secret.txt
//   root/absolute -> <base>/outside/secret.txt   root/sub/up -> ../digits.txt
class Tree {
 public:
  Tree() {
    std::string name = (fs::temp_directory_path() / "wman-static-XXXXXX").string();
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    base_ = name;
    fs::create_directories(base_ / "outside");
    fs::create_directories(root() / "sub");
    fs::create_directories(root() / "noindex");
    fs::create_directories(root() / ".git");
    write("../outside/secret.txt", "secret\n");
    write("index.html", "<h1>home</h1>\n");
    write("digits.txt", "0123456789");
    write("empty.txt", "");
    write("a b.txt", "space\n");
    write(".env", "KEY=secret\n");
    write(".git/config", "[core]\n");
    write("sub/index.html", "<h1>sub</h1>\n");
    write("sub/style.css", "body{}\n");
    write("sub/.hidden", "hidden\n");
    REQUIRE(::mkfifo((root() / "fifo").c_str(), 0600) == 0);
    fs::create_symlink("digits.txt", root() / "inside");
    fs::create_symlink("sub", root() / "subdir");
    fs::create_symlink("../outside/secret.txt", root() / "escape");
    fs::create_symlink(base_ / "outside" / "secret.txt", root() / "absolute");
    fs::create_symlink("../digits.txt", root() / "sub" / "up");
    setMtime("digits.txt", kMtime, kMtimeNs);
  }
  ~Tree() {
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  fs::path root() const { return base_ / "root"; }

  void write(const std::string& relative, std::string_view content) const {
    std::ofstream out(root() / relative, std::ios::binary);
    out << content;
    REQUIRE(out.good());
  }

  void setMtime(const std::string& relative, std::int64_t seconds, long nanoseconds) const {
    const timespec times[2] = {{seconds, nanoseconds}, {seconds, nanoseconds}};
    REQUIRE(::utimensat(AT_FDCWD, (root() / relative).c_str(), times, 0) == 0);
  }

  std::unique_ptr<StaticRoot> open(std::vector<std::string> index = {"index.html"}) const {
    std::string error;
    auto served = StaticRoot::open(StaticFileOptions{root().string(), std::move(index)}, error);
    INFO(error);
    REQUIRE(served);
    return served;
  }

 private:
  fs::path base_;
};

HttpRequest request(std::string_view path, std::vector<HttpHeader> headers = {},
                    std::string_view method = "GET", std::string_view query = "") {
  HttpRequest r;
  r.method = method;
  r.target = path;
  r.path = path;
  r.query = query;
  r.headers = std::move(headers);
  return r;
}

// The bytes the caller would send: `length` bytes of `file` from `offset`.
std::string sent(const StaticReply& reply) {
  REQUIRE(reply.file);
  std::string out(reply.length, '\0');
  const ssize_t n =
      ::pread(reply.file.get(), out.data(), out.size(), static_cast<off_t>(reply.offset));
  REQUIRE(n == static_cast<ssize_t>(out.size()));
  return out;
}

int status(const StaticRoot& served, std::string_view path) {
  return served.serve(request(path), kNow).head.status;
}

}  // namespace

TEST_CASE("static: only GET and HEAD are served, others get 405 with Allow") {
  Tree tree;
  auto served = tree.open();
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
    const StaticReply reply = served->serve(request("/digits.txt", {}, method), kNow);
    INFO(method);
    CHECK(reply.head.status == 405);
    CHECK(reply.head.get("Allow") == "GET, HEAD");
    CHECK_FALSE(reply.file);
    CHECK(reply.body == "405 Method Not Allowed\n");
    CHECK(reply.head.get("Content-Type") == "text/plain; charset=utf-8");
  }
}

TEST_CASE("static: a file is served whole with its type and validators") {
  Tree tree;
  auto served = tree.open();
  const StaticReply reply = served->serve(request("/digits.txt", {}, "GET", "v=2"), kNow);
  CHECK(reply.head.status == 200);
  CHECK(sent(reply) == "0123456789");
  CHECK(reply.offset == 0);
  CHECK(reply.length == 10);
  CHECK(reply.body.empty());
  CHECK(reply.head.get("Content-Type") == "text/plain; charset=utf-8");
  CHECK(reply.head.get("ETag") == kDigitsEtag);
  CHECK(reply.head.get("Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT");
  CHECK(reply.head.get("Accept-Ranges") == "bytes");
  CHECK(reply.head.get("Content-Length").empty());  // the encoder's job
  CHECK(reply.head.get("Date").empty());
}

TEST_CASE("static: HEAD gives the same head as GET, and the file for its length") {
  Tree tree;
  auto served = tree.open();
  const StaticReply get = served->serve(request("/digits.txt"), kNow);
  const StaticReply head = served->serve(request("/digits.txt", {}, "HEAD"), kNow);
  CHECK(head.head.status == get.head.status);
  CHECK(head.head.headers == get.head.headers);
  CHECK(head.file);
  CHECK(head.length == 10);
  // Range is defined for GET only (RFC 9110 14.2): a HEAD with one announces the whole file.
  const StaticReply ranged =
      served->serve(request("/digits.txt", {{"Range", "bytes=0-1"}}, "HEAD"), kNow);
  CHECK(ranged.head.status == 200);
  CHECK(ranged.length == 10);
}

TEST_CASE("static: a zero-length file is a 200 of length 0, Range or not") {
  Tree tree;
  auto served = tree.open();
  const StaticReply reply = served->serve(request("/empty.txt"), kNow);
  CHECK(reply.head.status == 200);
  CHECK(reply.file);
  CHECK(reply.length == 0);
  const StaticReply ranged = served->serve(request("/empty.txt", {{"Range", "bytes=0-"}}), kNow);
  CHECK(ranged.head.status == 200);
  CHECK(ranged.length == 0);
}

TEST_CASE("static: the path is percent-decoded once") {
  Tree tree;
  auto served = tree.open();
  CHECK(sent(served->serve(request("/a%20b.txt"), kNow)) == "space\n");
  CHECK(sent(served->serve(request("/%64igits.txt"), kNow)) == "0123456789");
  CHECK(status(*served, "/a%2520b.txt") == 404);  // "%2520" is "%20", not a space
  CHECK(status(*served, "/digits.txt%00.html") == 400);
  CHECK(status(*served, "/digits%zz.txt") == 400);
  CHECK(status(*served, "/digits.txt%2") == 400);
  CHECK(status(*served, "*") == 400);
}

TEST_CASE("static: an encoded slash or a backslash is 404, like nginx") {
  Tree tree;
  auto served = tree.open();
  CHECK(status(*served, "/sub%2Fstyle.css") == 404);
  CHECK(status(*served, "/sub%2fstyle.css") == 404);
  CHECK(status(*served, "/sub%5Cstyle.css") == 404);
  CHECK(status(*served, "/sub\\style.css") == 404);
  CHECK(status(*served, "/sub/style.css") == 200);
}

TEST_CASE("static: a '..' segment is refused with 400, encoded or not") {
  Tree tree;
  auto served = tree.open();
  for (const char* path :
       {"/../outside/secret.txt", "/%2e%2e/outside/secret.txt", "/%2E%2E/outside/secret.txt",
        "/sub/../digits.txt", "/sub/%2e./x", "/.%2e/outside/secret.txt", "/.."}) {
    INFO(path);
    const StaticReply reply = served->serve(request(path), kNow);
    CHECK(reply.head.status == 400);
    CHECK_FALSE(reply.file);
  }
  // Empty and "." segments are merged away.
  CHECK(sent(served->serve(request("//sub/./style.css"), kNow)) == "body{}\n");
}

TEST_CASE("static: dotfiles are not found") {
  Tree tree;
  auto served = tree.open();
  for (const char* path : {"/.env", "/.git/config", "/.git/", "/sub/.hidden", "/%2eenv"}) {
    INFO(path);
    CHECK(status(*served, path) == 404);
  }
}

TEST_CASE("static: symlinks resolving inside the root are served, others refused") {
  Tree tree;
  auto served = tree.open();
  REQUIRE(served->resolver() == StaticRoot::Resolver::Openat2);
  CHECK(sent(served->serve(request("/inside"), kNow)) == "0123456789");
  CHECK(sent(served->serve(request("/subdir/style.css"), kNow)) == "body{}\n");
  CHECK(sent(served->serve(request("/sub/up"), kNow)) == "0123456789");
  for (const char* path : {"/escape", "/absolute"}) {
    INFO(path);
    const StaticReply reply = served->serve(request(path), kNow);
    CHECK(reply.head.status == 403);
    CHECK_FALSE(reply.file);
    CHECK(reply.body.find("secret") == std::string::npos);
  }
}

TEST_CASE("static: the fallback resolver serves plain paths and refuses every symlink") {
  Tree tree;
  auto served = tree.open();
  served->setResolver(StaticRoot::Resolver::Walk);
  CHECK(sent(served->serve(request("/sub/style.css"), kNow)) == "body{}\n");
  CHECK(sent(served->serve(request("/"), kNow)) == "<h1>home</h1>\n");
  CHECK(status(*served, "/sub") == 301);
  CHECK(status(*served, "/missing") == 404);
  CHECK(status(*served, "/inside") == 403);            // a symlinked file: ELOOP
  CHECK(status(*served, "/subdir/style.css") == 404);  // a symlinked directory: ENOTDIR
  CHECK(status(*served, "/escape") == 403);
  CHECK(status(*served, "/absolute") == 403);
}

TEST_CASE("static: directories get their index file or a 301 to the slashed path") {
  Tree tree;
  auto served = tree.open();
  CHECK(sent(served->serve(request("/"), kNow)) == "<h1>home</h1>\n");
  const StaticReply sub = served->serve(request("/sub/"), kNow);
  CHECK(sent(sub) == "<h1>sub</h1>\n");
  CHECK(sub.head.get("Content-Type") == "text/html; charset=utf-8");

  const StaticReply moved = served->serve(request("/sub", {}, "GET", "a=1&b=2"), kNow);
  CHECK(moved.head.status == 301);
  CHECK(moved.head.get("Location") == "/sub/?a=1&b=2");
  CHECK_FALSE(moved.file);
  CHECK_FALSE(moved.body.empty());
  CHECK(served->serve(request("/sub"), kNow).head.get("Location") == "/sub/");
  // The Location is rebuilt from decoded segments: never "//host/", a redirect off-site.
  CHECK(served->serve(request("//sub"), kNow).head.get("Location") == "/sub/");
  fs::create_directories(tree.root() / "a b");
  CHECK(served->serve(request("/a%20b"), kNow).head.get("Location") == "/a%20b/");

  CHECK(status(*served, "/noindex/") == 404);  // no listings
  CHECK(status(*served, "/noindex") == 301);
}

TEST_CASE("static: the index names are tried in order") {
  Tree tree;
  tree.write("noindex/default.htm", "default\n");
  auto served = tree.open({"home.html", "default.htm", "index.html"});
  CHECK(sent(served->serve(request("/noindex/"), kNow)) == "default\n");
  CHECK(sent(served->serve(request("/sub/"), kNow)) == "<h1>sub</h1>\n");
  tree.write("sub/home.html", "home\n");
  CHECK(sent(served->serve(request("/sub/"), kNow)) == "home\n");
}

TEST_CASE("static: what is not a regular file is not found") {
  Tree tree;
  auto served = tree.open();
  CHECK(status(*served, "/fifo") == 404);
  CHECK(status(*served, "/missing.txt") == 404);
  CHECK(status(*served, "/digits.txt/") == 404);
  CHECK(status(*served, "/digits.txt/x") == 404);
}

TEST_CASE("static: a file the worker may not read is 403") {
  if (::geteuid() == 0) {
    WARN("skipped: root reads any file, so permissions cannot be tested");
    return;
  }
  Tree tree;
  tree.write("locked.txt", "locked\n");
  fs::permissions(tree.root() / "locked.txt", fs::perms::none);
  auto served = tree.open();
  const StaticReply reply = served->serve(request("/locked.txt"), kNow);
  CHECK(reply.head.status == 403);
  CHECK(reply.error == EACCES);
}

TEST_CASE("static: the root must be a searchable directory, index names plain names") {
  Tree tree;
  std::string error;
  CHECK_FALSE(StaticRoot::open({(tree.root() / "missing").string()}, error));
  CHECK(error ==
        "cannot open root " + (tree.root() / "missing").string() + ": No such file or directory");
  CHECK_FALSE(StaticRoot::open({(tree.root() / "digits.txt").string()}, error));
  CHECK(error.starts_with("cannot open root "));
  CHECK_FALSE(StaticRoot::open({tree.root().string(), {"../index.html"}}, error));
  CHECK(error.find("invalid index name") != std::string::npos);
  CHECK_FALSE(StaticRoot::open({tree.root().string(), {".."}}, error));
}

TEST_CASE("static: If-None-Match with the ETag gives 304 with the validators") {
  Tree tree;
  auto served = tree.open();
  const std::string etag(served->serve(request("/digits.txt"), kNow).head.get("ETag"));
  const StaticReply reply = served->serve(request("/digits.txt", {{"If-None-Match", etag}}), kNow);
  CHECK(reply.head.status == 304);
  CHECK_FALSE(reply.file);
  CHECK(reply.body.empty());
  CHECK(reply.head.get("ETag") == etag);
  CHECK(reply.head.get("Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT");

  const std::string weak = "W/" + etag;
  const std::string list = "\"other\", " + etag;
  for (std::string_view value :
       {std::string_view(weak), std::string_view(list), std::string_view("*")}) {
    INFO(value);
    CHECK(served->serve(request("/digits.txt", {{"If-None-Match", value}}), kNow).head.status ==
          304);
  }
  CHECK(served->serve(request("/digits.txt", {{"If-None-Match", "\"other\""}}), kNow).head.status ==
        200);
  // The file changes: the old tag no longer matches.
  tree.setMtime("digits.txt", kMtime, kMtimeNs + 1);
  CHECK(served->serve(request("/digits.txt", {{"If-None-Match", etag}}), kNow).head.status == 200);
}

TEST_CASE("static: If-Modified-Since gives 304 unless modified, and only without If-None-Match") {
  Tree tree;
  auto served = tree.open();
  auto ims = [&](std::vector<HttpHeader> headers) {
    return served->serve(request("/digits.txt", std::move(headers)), kNow).head.status;
  };
  CHECK(ims({{"If-Modified-Since", "Tue, 14 Nov 2023 22:13:20 GMT"}}) == 304);
  CHECK(ims({{"If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT"}}) == 304);
  CHECK(ims({{"If-Modified-Since", "Tuesday, 14-Nov-23 22:13:20 GMT"}}) == 304);
  CHECK(ims({{"If-Modified-Since", "Tue Nov 14 22:13:20 2023"}}) == 304);
  CHECK(ims({{"If-Modified-Since", "Tue, 14 Nov 2023 22:13:19 GMT"}}) == 200);
  CHECK(ims({{"If-Modified-Since", "yesterday"}}) == 200);
  CHECK(ims({{"If-None-Match", "\"other\""},
             {"If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT"}}) == 200);
}

TEST_CASE("static: Last-Modified is never later than now") {
  Tree tree;
  auto served = tree.open();
  const StaticReply reply = served->serve(request("/digits.txt"), kMtime - 60);
  CHECK(reply.head.get("Last-Modified") == wman::formatHttpDate(kMtime - 60));
}

TEST_CASE("static: If-Match and If-Unmodified-Since give 412 when false") {
  Tree tree;
  auto served = tree.open();
  auto check = [&](std::vector<HttpHeader> headers) {
    return served->serve(request("/digits.txt", std::move(headers)), kNow).head.status;
  };
  CHECK(check({{"If-Match", kDigitsEtag}}) == 200);
  CHECK(check({{"If-Match", "*"}}) == 200);
  CHECK(check({{"If-Match", "\"other\""}}) == 412);
  CHECK(check({{"If-Match", "W/\"17979cfe3d85cd15-a\""}}) == 412);  // strong comparison
  CHECK(check({{"If-Unmodified-Since", "Tue, 14 Nov 2023 22:13:20 GMT"}}) == 200);
  CHECK(check({{"If-Unmodified-Since", "Tue, 14 Nov 2023 22:13:19 GMT"}}) == 412);
}

TEST_CASE("static: a single satisfiable range gives 206 with Content-Range") {
  Tree tree;
  auto served = tree.open();
  struct Case {
    const char* range;
    std::uint64_t offset;
    std::uint64_t length;
    const char* content_range;
  };
  for (const Case& c :
       {Case{"bytes=2-5", 2, 4, "bytes 2-5/10"}, Case{"bytes=7-", 7, 3, "bytes 7-9/10"},
        Case{"bytes=-3", 7, 3, "bytes 7-9/10"}, Case{"bytes=0-0", 0, 1, "bytes 0-0/10"},
        Case{"bytes=5-100", 5, 5, "bytes 5-9/10"}, Case{"bytes=-100", 0, 10, "bytes 0-9/10"},
        Case{"Bytes=3-3", 3, 1, "bytes 3-3/10"},
        Case{"bytes=9-99999999999999999999999", 9, 1, "bytes 9-9/10"}}) {
    INFO(c.range);
    const StaticReply reply = served->serve(request("/digits.txt", {{"Range", c.range}}), kNow);
    CHECK(reply.head.status == 206);
    CHECK(reply.offset == c.offset);
    CHECK(reply.length == c.length);
    CHECK(reply.head.get("Content-Range") == c.content_range);
    CHECK(reply.head.get("ETag") == kDigitsEtag);
    CHECK(sent(reply) == std::string("0123456789").substr(c.offset, c.length));
  }
}

TEST_CASE("static: an unsatisfiable range gives 416 with the size") {
  Tree tree;
  auto served = tree.open();
  for (const char* range :
       {"bytes=10-", "bytes=10-20", "bytes=-0", "bytes=99999999999999999999-"}) {
    INFO(range);
    const StaticReply reply = served->serve(request("/digits.txt", {{"Range", range}}), kNow);
    CHECK(reply.head.status == 416);
    CHECK(reply.head.get("Content-Range") == "bytes */10");
    CHECK_FALSE(reply.file);
  }
}

TEST_CASE("static: several ranges or a bad Range header give the whole file with 200") {
  Tree tree;
  auto served = tree.open();
  for (const char* range : {"bytes=0-1,4-5", "bytes=0-1, -2", "bytes=5-2", "items=0-1", "bytes=abc",
                            "bytes=", "bytes=1-2-3", "0-1", "bytes = 1-2"}) {
    INFO(range);
    const StaticReply reply = served->serve(request("/digits.txt", {{"Range", range}}), kNow);
    CHECK(reply.head.status == 200);
    CHECK(reply.length == 10);
    CHECK(reply.head.get("Content-Range").empty());
  }
}

TEST_CASE("static: If-Range applies the range only while the validator holds") {
  Tree tree;
  auto served = tree.open();
  auto ranged = [&](std::string_view if_range) {
    return served->serve(request("/digits.txt", {{"Range", "bytes=2-3"}, {"If-Range", if_range}}),
                         kNow);
  };
  CHECK(ranged(kDigitsEtag).head.status == 206);
  CHECK(ranged("\"other\"").head.status == 200);
  CHECK(ranged("W/\"17979cfe3d85cd15-a\"").head.status == 200);
  CHECK(ranged("Tue, 14 Nov 2023 22:13:20 GMT").head.status == 206);
  CHECK(ranged("Tue, 14 Nov 2023 22:13:21 GMT").head.status == 200);
  CHECK(ranged("not a date").head.status == 200);
  const StaticReply whole = ranged("\"other\"");
  CHECK(whole.length == 10);
  CHECK(whole.head.get("Content-Range").empty());
}

TEST_CASE("static: content types by extension") {
  using wman::detail::contentTypeFor;
  CHECK(contentTypeFor("index.html") == "text/html; charset=utf-8");
  CHECK(contentTypeFor("a/b/STYLE.CSS") == "text/css; charset=utf-8");
  CHECK(contentTypeFor("app.js") == "text/javascript; charset=utf-8");
  CHECK(contentTypeFor("mod.mjs") == "text/javascript; charset=utf-8");
  CHECK(contentTypeFor("data.json") == "application/json");
  CHECK(contentTypeFor("app.js.map") == "application/json");
  CHECK(contentTypeFor("logo.svg") == "image/svg+xml");
  CHECK(contentTypeFor("a.png") == "image/png");
  CHECK(contentTypeFor("a.jpg") == "image/jpeg");
  CHECK(contentTypeFor("a.jpeg") == "image/jpeg");
  CHECK(contentTypeFor("a.gif") == "image/gif");
  CHECK(contentTypeFor("a.webp") == "image/webp");
  CHECK(contentTypeFor("favicon.ico") == "image/x-icon");
  CHECK(contentTypeFor("notes.txt") == "text/plain; charset=utf-8");
  CHECK(contentTypeFor("m.wasm") == "application/wasm");
  CHECK(contentTypeFor("feed.xml") == "text/xml; charset=utf-8");
  CHECK(contentTypeFor("doc.pdf") == "application/pdf");
  CHECK(contentTypeFor("f.woff") == "font/woff");
  CHECK(contentTypeFor("f.woff2") == "font/woff2");
  CHECK(contentTypeFor("v.mp4") == "video/mp4");
  CHECK(contentTypeFor("v.webm") == "video/webm");
  CHECK(contentTypeFor("archive.tar.gz") == "application/gzip");
  CHECK(contentTypeFor("README") == "application/octet-stream");
  CHECK(contentTypeFor(".bashrc") == "application/octet-stream");
  CHECK(contentTypeFor("trailing.") == "application/octet-stream");
  CHECK(contentTypeFor("a.exe") == "application/octet-stream");
}

TEST_CASE("static: UniqueFd closes once and moves ownership") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  {
    UniqueFd a(fds[0]);
    UniqueFd b(std::move(a));
    CHECK_FALSE(a);
    CHECK(b.get() == fds[0]);
    UniqueFd c;
    c = std::move(b);
    CHECK(c.get() == fds[0]);
    UniqueFd d(fds[1]);
    const int raw = d.release();
    CHECK_FALSE(d);
    CHECK(raw == fds[1]);
  }
  CHECK(::fcntl(fds[0], F_GETFD) == -1);  // closed by c
  CHECK(::fcntl(fds[1], F_GETFD) != -1);  // released, still open
  ::close(fds[1]);
}

TEST_CASE("static: HTTP dates in the three forms, and what is not one") {
  using wman::parseHttpDate;
  CHECK(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
  CHECK(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
  CHECK(parseHttpDate("Sun Nov  6 08:49:37 1994") == 784111777);
  CHECK(parseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
  CHECK(parseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT") == 1709164800);
  CHECK(parseHttpDate("Tue, 14 Nov 2023 22:13:20 GMT") == kMtime);
  CHECK(parseHttpDate(wman::formatHttpDate(kNow)) == kNow);
  CHECK_FALSE(parseHttpDate("Wed, 29 Feb 2023 00:00:00 GMT"));  // not a leap year
  CHECK_FALSE(parseHttpDate("Sun, 06 Nov 1994 24:00:00 GMT"));
  CHECK_FALSE(parseHttpDate("Sun, 06 Nov 1994 08:49:37 UTC"));
  CHECK_FALSE(parseHttpDate("Sun, 6 Nov 1994 08:49:37 GMT"));
  CHECK_FALSE(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT"));
  CHECK_FALSE(parseHttpDate(""));
}
