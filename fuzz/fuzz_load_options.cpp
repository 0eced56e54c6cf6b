// Fuzz target: the load options of a scenario's `load` object (loadgen/load_options.hpp), read
// from untrusted JSON. Options that pass the rules must survive to_argv() and faultline load's flag
// parser unchanged and still pass (the runner hands them to a child that way); options that fail
// must say why.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loadgen/load_flags.hpp"
#include "loadgen/load_options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace faultline;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto doc = parse_json(in);
  if (!doc || !doc->is_object()) return 0;
  ConfigErrors errors;
  const loadgen::LoadOptions o = loadgen::parse_load_options(*doc, "$.load", errors);
  if (!errors.empty()) return 0;
  ConfigErrors flag_errors;
  const loadgen::LoadOptions back = loadgen::parse_load_flags(loadgen::to_argv(o), flag_errors);
  if (!flag_errors.empty() || !(back == o)) __builtin_trap();
  return 0;
}
