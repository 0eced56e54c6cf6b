// `faultline ctl`: a command-line client for a running proxy's REST API, in the style of
// toxiproxy-cli (list, inspect, create, toggle, delete, toxic add/update/remove).
#pragma once

#include "common/cli.hpp"

namespace faultline::proxy {

void register_ctl_command(CommandRegistry& registry);

}  // namespace faultline::proxy
