// permessage-deflate negotiation (RFC 7692 section 7). Server role: reads the client's offers
// from Sec-WebSocket-Extensions, picks the first one the server can accept and writes the
// answer. Client role: writes the offer and checks the server's answer to it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wman::ws {

// What the server is willing to do (WebSocketOptions::deflate), or what a client offers
// (WebSocketClientOptions::deflate; see deflateOffer() for how each field is read there).
// Defaults are zlib's and the RFC's (15-bit windows, context takeover both ways).
struct DeflateOptions {
  // Largest LZ77 window our compressor uses, 8..15 (memory: 2^(bits+2) bytes per connection
  // while compressing). A client asking for less gets what it asks for. zlib cannot compress
  // with 8 (deflateInit2 refuses raw windowBits 8), so 8 runs as 9, whose matches never reach
  // further back than 250 bytes and therefore fit a 256-byte window.
  int server_max_window_bits = 15;
  // Window asked of clients that offer client_max_window_bits, 8..15; sizes our inflater
  // (2^bits bytes). Clients that do not offer the parameter may use 15, so below 15 their
  // offer is declined (RFC 7692 7.1.2.2 forbids asking them).
  int client_max_window_bits = 15;
  // Reset our compressor after every message: worse ratio, but no history kept between them.
  bool server_no_context_takeover = false;
  // Ask clients to reset theirs (they must comply), so our inflater starts fresh per message.
  bool client_no_context_takeover = false;
  // zlib compression level 1..9 (-1 = zlib's default, 6). Lower is faster.
  int level = -1;
  // zlib memLevel 1..9: the compressor's hash tables take 2^(mem_level+9) bytes.
  int mem_level = 8;
  // Messages shorter than this are sent uncompressed: a few bytes never shrink once the
  // deflate block overhead is paid, and skipping them saves a zlib call per small message.
  std::size_t min_compress_size = 32;
};

// The parameters both sides agreed on for one connection.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;  // announced bound on our window (8..15)
  int client_max_window_bits = 15;  // bound on the client's window, sizes our inflater
  // Written in the response even at 15: the offer named the parameter, and a server accepts
  // server_max_window_bits only by echoing it (RFC 7692 7.1.2.1).
  bool echo_server_max_window_bits = false;
  bool echo_client_max_window_bits = false;

  // The Sec-WebSocket-Extensions value answering the accepted offer.
  std::string responseHeader() const;
};

// Reads every Sec-WebSocket-Extensions value of a request (several header lines form one
// comma-separated list) and returns the parameters of the first permessage-deflate offer the
// server can honour, or nullopt if there is none. An offer is declined, and the next one
// tried, if it has an unknown or duplicated parameter, a value where none is allowed, or a
// window size that is not a decimal 8..15 without leading zeros, or if it lacks
// client_max_window_bits while options.client_max_window_bits is below 15. Other extensions
// are ignored.
std::optional<DeflateParams> negotiateDeflate(std::span<const std::string_view> header_values,
                                              const DeflateOptions& options);

// Client role: the Sec-WebSocket-Extensions value offering permessage-deflate under `options`.
// Always names client_max_window_bits (with a value when options.client_max_window_bits is
// below 15) so the server may bound our window; asks for server_max_window_bits only below
// 15 and for either no_context_takeover only when set.
std::string deflateOffer(const DeflateOptions& options);

// Client role: the verdict on a response's Sec-WebSocket-Extensions values. `params` is set
// when the server accepted permessage-deflate; `error` (a static string) is non-empty when
// the client must fail the connection.
struct DeflateAcceptance {
  std::optional<DeflateParams> params;
  std::string_view error{};
};

// Checks the response to our offer (none if `offered` is false) per RFC 7692 7.1: every
// extension must be one we offered, once; no unknown, duplicated or malformed parameter;
// window bits a decimal 8..15; server_max_window_bits no larger than we asked and present if
// we asked; server_no_context_takeover present if we asked. The agreed params then bound our
// compressor by min(client_max_window_bits answered, options.client_max_window_bits).
DeflateAcceptance acceptDeflateResponse(std::span<const std::string_view> header_values,
                                        const DeflateOptions& options, bool offered);

}  // namespace wman::ws
