// Fuzz target: the load generator's response parser (loadgen/http1.hpp), fed what a hostile or
// broken server could send: the head parser, header lookup and the chunked decoder on the rest,
// the decoder also fed in two pieces to exercise its resumption.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "loadgen/http1.hpp"

using faultline::loadgen::ChunkedDecoder;
using faultline::loadgen::Parse;

namespace {

// Feeds `data` to a fresh decoder in pieces of at most `step` bytes; the consumed count must never
// exceed what it was given.
void decode(std::string_view data, std::size_t step) {
  ChunkedDecoder dec;
  std::string body;
  while (!data.empty()) {
    const std::string_view piece = data.substr(0, step);
    std::size_t consumed = 0;
    const Parse p = dec.feed(piece, consumed, &body);
    if (consumed > piece.size()) __builtin_trap();
    data.remove_prefix(consumed);
    if (p != Parse::incomplete) return;
    if (consumed == 0 && piece.size() == data.size()) return;  // needs more than there is
    if (consumed == 0) step = data.size();                     // give it everything at once
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  faultline::loadgen::ResponseHead head;
  const Parse p = faultline::loadgen::parse_response_head(in, head, 4096);
  if (p == Parse::done) {
    if (head.head_bytes > in.size()) __builtin_trap();
    const std::string_view raw_head = in.substr(0, head.head_bytes);
    (void)faultline::loadgen::find_header(raw_head, "content-length");
    (void)faultline::loadgen::find_header(raw_head, "transfer-encoding");
    if (head.chunked) decode(in.substr(head.head_bytes), 7);
  }
  decode(in, in.size() + 1);
  return 0;
}
