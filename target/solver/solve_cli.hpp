// Registers `faultline solve` (the MD5 prefix solver on stdin, and its benchmark).
#pragma once

#include "common/cli.hpp"

namespace faultline::target {

void register_solve_command(CommandRegistry& registry);

}  // namespace faultline::target
