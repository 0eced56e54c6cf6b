// Fuzz target: scenario JSON (runner::parse_scenario), the runner's whole validation of a scenario
// file, with workload paths resolved against an empty temporary directory. Every rejection must
// be a ConfigError listing its paths; anything else escaping is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/config.hpp"
#include "runner/scenario/scenario.hpp"

using namespace faultline;

namespace {

const std::string& base_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/faultline-fuzz-scenario-XXXXXX";
    const char* made = mkdtemp(tmpl);
    return std::string(made ? made : "/nonexistent");
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const json doc =
      parse_json_or_discarded(std::string_view(reinterpret_cast<const char*>(data), size));
  if (doc.is_discarded()) return 0;
  try {
    const runner::Scenario s = runner::parse_scenario(doc, base_dir());
    (void)s;
  } catch (const ConfigError&) {
  }
  return 0;
}
