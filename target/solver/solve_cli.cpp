#include "target/solver/solve_cli.hpp"

namespace faultline::target {

void register_solve_command(CommandRegistry& /*registry*/) {}

}  // namespace faultline::target
