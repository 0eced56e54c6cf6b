// Registers the `faultline` subcommands of the target component.
#pragma once

#include "common/cli.hpp"

namespace faultline::target {

void register_commands(CommandRegistry& registry);

}  // namespace faultline::target
