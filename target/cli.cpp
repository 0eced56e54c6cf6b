#include "target/cli.hpp"

namespace faultline::target {

void register_commands(CommandRegistry& /*registry*/) {}

}  // namespace faultline::target
