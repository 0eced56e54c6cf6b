#include "target/cli.hpp"

#include "target/solver/solve_cli.hpp"

namespace faultline::target {

void register_commands(CommandRegistry& registry) { register_solve_command(registry); }

}  // namespace faultline::target
