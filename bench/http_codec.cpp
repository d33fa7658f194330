// CPU cost of the HTTP/1.1 codec alone, per keep-alive "hello" exchange: decoding the
// request wrk sends and encoding a 5-byte response with a Date header, on one pipelined
// buffer of N requests, as a read loop would. It bounds what the codec adds to the server's
// CPU per request in the issue 15 wrk comparison; the socket work comes on top.
//
//   build/bin/wman_http_codec [requests [repeats]]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "http/http_request_decoder.h"
#include "http/http_response_encoder.h"

namespace {

// What wrk 4 sends for `wrk http://127.0.0.1:8080/`.
constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

double cpuSeconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

// Decodes every request of `input` and answers each; returns the bytes written, so the
// work cannot be optimised away.
std::size_t serve(const std::string& input, const std::string& date) {
  wman::HttpRequestDecoder decoder;
  wman::HttpResponseHead head;
  head.set("Content-Type", "text/plain");
  std::string out;
  std::size_t written = 0;
  wman::ByteSpan rest = wman::asBytes(input);
  while (true) {
    const wman::HttpDecodeResult r = decoder.decode(rest);
    rest = rest.subspan(r.consumed);
    if (r.status == wman::HttpDecodeResult::Status::Request) {
      out.clear();
      wman::HttpResponseEncoder(decoder.request()).encodeWhole(head, "hello", date, out);
      written += out.size();
    } else if (r.status != wman::HttpDecodeResult::Status::Head) {
      break;
    }
  }
  return written;
}

}  // namespace

int main(int argc, char** argv) {
  const int requests = argc >= 2 ? std::atoi(argv[1]) : 100000;
  const int repeats = argc >= 3 ? std::atoi(argv[2]) : 20;
  std::string input;
  for (int i = 0; i < requests; ++i) input.append(kRequest);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string date =
      wman::formatHttpDate(std::chrono::duration_cast<std::chrono::seconds>(now).count());

  std::size_t written = 0;
  const double start = cpuSeconds();
  for (int i = 0; i < repeats; ++i) written += serve(input, date);
  const double cpu = cpuSeconds() - start;
  const double total = static_cast<double>(requests) * repeats;
  std::printf("%d requests x %d: %.1f ns CPU per request and response (%zu response bytes)\n",
              requests, repeats, cpu * 1e9 / total, written / static_cast<std::size_t>(total));
  return 0;
}
