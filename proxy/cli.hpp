// Registers the `faultline` subcommands of the proxy component.
#pragma once

#include "common/cli.hpp"

namespace faultline::proxy {

void register_commands(CommandRegistry& registry);

}  // namespace faultline::proxy
