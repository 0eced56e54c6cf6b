#include "runner/cli.hpp"

namespace faultline::runner {

void register_commands(CommandRegistry& /*registry*/) {}

}  // namespace faultline::runner
