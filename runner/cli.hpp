// Registers the `faultline` subcommands of the runner component.
#pragma once

#include "common/cli.hpp"

namespace faultline::runner {

void register_commands(CommandRegistry& registry);

}  // namespace faultline::runner
