// The target URL of `faultline load`: common/url.hpp's one URL parser.
#pragma once

#include "common/url.hpp"

namespace faultline::loadgen {

using TargetUrl = faultline::Url;
using faultline::parse_url;

}  // namespace faultline::loadgen
