// Fuzz target: `faultline load`'s URL parser (loadgen/url.hpp), which takes the command line's
// target URL. A parsed URL must have a host and an origin-form target.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "loadgen/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto url = faultline::loadgen::parse_url(in, error);
  if (url && (url->host.empty() || url->target.empty() || url->target[0] != '/')) __builtin_trap();
  if (!url && error.empty()) __builtin_trap();
  return 0;
}
