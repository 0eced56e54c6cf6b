#include "proxy/cli.hpp"

namespace faultline::proxy {

void register_commands(CommandRegistry& /*registry*/) {}

}  // namespace faultline::proxy
