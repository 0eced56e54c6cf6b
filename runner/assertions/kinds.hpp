// Registration functions of the built-in assertion kinds, one per file in runner/assertions/.
#pragma once

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

void register_error_ratio(AssertionRegistry& r);
void register_latency(AssertionRegistry& r);
void register_throughput(AssertionRegistry& r);
void register_error_amplification(AssertionRegistry& r);
void register_recovery_time(AssertionRegistry& r);
void register_isolation(AssertionRegistry& r);
void register_resource_slope(AssertionRegistry& r);
void register_latency_drift(AssertionRegistry& r);

}  // namespace faultline::runner
