// Fuzz target: the SSE framer (common/sse.hpp) that the proxy's sse_* behaviors and the load
// generator's SSE sessions run on untrusted response bodies. The first byte picks a bound (8 to
// 2,048 bytes, so oversized events are reached) and a read size; the rest is fed once whole and
// once in pieces of that size. The pieces must concatenate to the input, be the same both ways,
// never hold more than the bound, and every event piece must end in an empty line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/sse.hpp"

namespace {

std::vector<faultline::SsePiece> frame(std::string_view in, std::size_t max, std::size_t step) {
  faultline::SseFramer framer(max);
  std::vector<faultline::SsePiece> out;
  for (std::size_t i = 0; i < in.size(); i += step) {
    framer.feed(in.substr(i, step), out);
    if (framer.held() > max + 1) __builtin_trap();  // + the LF of an event ending in CR
  }
  framer.finish(out);
  if (framer.held() != 0) __builtin_trap();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t max = std::size_t{8} << (data[0] & 0x07);
  const std::size_t step = std::size_t{1} + (data[0] >> 3);
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto whole = frame(in, max, in.size() + 1);
  const auto split = frame(in, max, step);
  if (whole.size() != split.size()) __builtin_trap();
  std::string all;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    const auto& p = whole[i];
    if (p.bytes.empty() || p.bytes != split[i].bytes || p.event != split[i].event) __builtin_trap();
    if (p.event) {
      const std::string_view b = p.bytes;
      const bool blank_end = b.ends_with("\n\n") || b.ends_with("\r\r") || b.ends_with("\n\r\n") ||
                             b.ends_with("\r\n\r\n") || b.ends_with("\r\r\n") ||
                             b.ends_with("\n\r");
      if (!blank_end || b.size() > max + 1) __builtin_trap();
    }
    all += p.bytes;
  }
  if (all != in) __builtin_trap();
  return 0;
}
