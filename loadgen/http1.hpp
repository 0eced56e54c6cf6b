// A small, allocation-free HTTP/1.1 response parser for the load generator's hot path: status
// line and the framing headers (Content-Length, Transfer-Encoding: chunked, Connection), and an
// incremental chunked-body decoder. Anything it cannot frame is a `bad_response`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::loadgen {

enum class Parse { incomplete, done, bad };

struct ResponseHead {
  unsigned status = 0;
  bool keep_alive = true;
  bool chunked = false;
  std::optional<std::uint64_t> content_length;
  std::size_t head_bytes = 0;  // through the blank line
};

// Parses a response head at the start of `data`. Heads longer than `limit` are `bad`.
Parse parse_response_head(std::string_view data, ResponseHead& out, std::size_t limit = 65536);

// Value of header `name` (case-insensitive) in a raw head; nullopt when absent.
std::optional<std::string_view> find_header(std::string_view head, std::string_view name);

// Incremental chunked transfer decoding. feed() consumes what it can from `data` (setting
// `consumed`), appends payload to `body` when non-null, and returns done after the last chunk and
// trailers.
class ChunkedDecoder {
 public:
  Parse feed(std::string_view data, std::size_t& consumed, std::string* body);
  void reset() { *this = ChunkedDecoder{}; }

 private:
  enum class State { size, data, data_crlf, trailer } state_ = State::size;
  std::uint64_t remaining_ = 0;
};

}  // namespace faultline::loadgen
