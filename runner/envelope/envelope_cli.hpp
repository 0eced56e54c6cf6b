// Registers `faultline envelope` (envelope_cli.cpp).
#pragma once

#include "common/cli.hpp"

namespace faultline::runner::envelope {

void register_envelope_command(CommandRegistry& registry);

}  // namespace faultline::runner::envelope
