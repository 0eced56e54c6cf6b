// `faultline target`: flag parsing and validation, start-up, the "listening on" line, graceful
// stop on SIGINT/SIGTERM.
#pragma once

#include "common/cli.hpp"

namespace faultline::target {

void register_target_command(CommandRegistry& registry);

}  // namespace faultline::target
