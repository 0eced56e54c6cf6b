// Logging set-up shared by every subcommand: spdlog to stderr (stdout is kept for machine-readable
// output such as "listening on ..." lines and JSON results).
#pragma once

#include <string>

namespace faultline {

// level: trace, debug, info, warn, error, off. Throws std::invalid_argument on an unknown level.
void init_logging(const std::string& level);

}  // namespace faultline
