// `faultline load`'s flags for the LoadOptions (--rate, --users, --stages, --connections/-c,
// --timeout, --seed, --duration): bound to a CLI11 command, and read back, the flags given only,
// through read_load_options() with the flags' names, so the command line and a scenario share one
// reader and one set of rules.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "loadgen/load_options.hpp"

namespace faultline::loadgen {

class LoadOptionFlags {
 public:
  // Adds the flags to `command` (faultline load). `this` must outlive its parse.
  void add_to(CLI::App& command);
  // The flags that were given, read and validated; errors name the flag ("--connections: ...").
  LoadOptions read(ConfigErrors& errors) const;

 private:
  std::string rate_, users_, stages_, timeout_{kDefaultTimeout}, duration_{kDefaultDuration};
  std::int64_t connections_ = kDefaultConnections;
  std::uint64_t seed_ = kDefaultSeed;
  CLI::Option* rate_opt_ = nullptr;
  CLI::Option* users_opt_ = nullptr;
  CLI::Option* stages_opt_ = nullptr;
  CLI::Option* connections_opt_ = nullptr;
  CLI::Option* timeout_opt_ = nullptr;
  CLI::Option* seed_opt_ = nullptr;
  CLI::Option* duration_opt_ = nullptr;
};

// Parses `args` (flags as to_argv() writes them) with exactly the binding `faultline load` uses:
// what a child started with them reads. CLI11's own parse errors are added at "$".
LoadOptions parse_load_flags(const std::vector<std::string>& args, ConfigErrors& errors);

}  // namespace faultline::loadgen
