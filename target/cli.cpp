#include "target/cli.hpp"

#include "target/solver/solve_cli.hpp"
#include "target/target_cli.hpp"

namespace faultline::target {

void register_commands(CommandRegistry& registry) {
  register_target_command(registry);
  register_solve_command(registry);
}

}  // namespace faultline::target
