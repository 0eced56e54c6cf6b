// `faultline load`'s flags for the LoadOptions (see load_flags.hpp).
#include "loadgen/load_flags.hpp"

#include <algorithm>

namespace faultline::loadgen {

void LoadOptionFlags::add_to(CLI::App& command) {
  rate_opt_ =
      command.add_option("--rate", rate_, "Open model: arrivals per second (e.g. 1000, 2k)");
  users_opt_ = command.add_option("--users", users_, "Closed model: virtual users");
  duration_opt_ = command.add_option("--duration", duration_, "Run time (500ms, 30s, 5m, 24h)")
                      ->capture_default_str();
  stages_opt_ = command.add_option(
      "--stages", stages_, "Levels over time: 30s:100,2m:100>1000,1m:>0 or 30s:10|50|100 (cycles)");
  connections_opt_ =
      command
          .add_option("--connections,-c", connections_,
                      "Connections (open and max models; per process; at most 100000)")
          ->capture_default_str();
  timeout_opt_ =
      command.add_option("--timeout", timeout_, "Per-request timeout (connect and response)")
          ->capture_default_str();
  seed_opt_ = command.add_option("--seed", seed_, "Random seed (mix choice, generated bodies)")
                  ->capture_default_str();
}

LoadOptions LoadOptionFlags::read(ConfigErrors& errors) const {
  // The flags given, as the JSON members a scenario would write (rates and users as text: "2k").
  json given = json::object();
  const auto given_flag = [](const CLI::Option* o) { return o && o->count() > 0; };
  if (given_flag(rate_opt_)) given["rate"] = rate_;
  if (given_flag(users_opt_)) given["users"] = users_;
  if (given_flag(stages_opt_)) given["stages"] = stages_;
  if (given_flag(connections_opt_)) given["connections"] = connections_;
  if (given_flag(timeout_opt_)) given["timeout"] = timeout_;
  if (given_flag(seed_opt_)) given["seed"] = seed_;
  if (given_flag(duration_opt_)) given["duration"] = duration_;
  return read_load_options(given, OptionNames::flags(), errors);
}

LoadOptions parse_load_flags(const std::vector<std::string>& args, ConfigErrors& errors) {
  CLI::App app("faultline load");
  LoadOptionFlags flags;
  flags.add_to(app);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    errors.add("$", e.what());
    return {};
  }
  return flags.read(errors);
}

}  // namespace faultline::loadgen
