// Vaurien-style one-liner: `--listen A --upstream B --protocol P --behavior 20:delay,10:error`
// becomes one proxy (named "proxy") with one `weighted` toxic.
#pragma once

#include <optional>
#include <string>

#include "common/config.hpp"
#include "proxy/behavior.hpp"

namespace faultline::proxy {

// Builds the proxy JSON (as POST /proxies takes it, with a `toxics` member). Errors (syntax,
// totals over 100, an unknown behavior, a behavior the protocol lacks) are recorded with the flag
// as their path; `registry` tells which behaviors exist and on which protocols.
std::optional<json> one_liner_proxy(const std::string& listen, const std::string& upstream,
                                    const std::string& protocol, const std::string& behavior,
                                    const Registry& registry, ConfigErrors& errors);

}  // namespace faultline::proxy
