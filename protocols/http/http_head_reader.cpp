#include "wman/http_head_reader.h"

#include "http/http_request_parser.h"

namespace wman {

HttpHeadReader::HttpHeadReader(std::size_t max_header_size)
    : parser_(std::make_unique<HttpRequestParser>(max_header_size)) {}

HttpHeadReader::~HttpHeadReader() = default;

HttpHeadResult HttpHeadReader::feed(ByteSpan input) {
  return parser_->feed(input);
}

const HandshakeRequest& HttpHeadReader::request() const {
  return parser_->request();
}

void HttpHeadReader::reset() {
  parser_->reset();
}

}  // namespace wman
