#include "loadgen/cli.hpp"

namespace faultline::loadgen {

void register_commands(CommandRegistry& /*registry*/) {}

}  // namespace faultline::loadgen
