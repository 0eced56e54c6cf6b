// Registers the `faultline` subcommands of the loadgen component.
#pragma once

#include "common/cli.hpp"

namespace faultline::loadgen {

void register_commands(CommandRegistry& registry);

}  // namespace faultline::loadgen
