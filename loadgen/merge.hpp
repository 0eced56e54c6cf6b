// `faultline report merge`: combines the --out results of several shards (or runs) into one by
// adding counters and histograms — percentiles are recomputed from the merged histograms, never
// averaged.
#pragma once

#include <string>
#include <vector>

#include "common/config.hpp"

namespace faultline::loadgen {

// `names` label the documents in error messages (file names). Throws ConfigError.
json merge_results(const std::vector<json>& docs, const std::vector<std::string>& names);

}  // namespace faultline::loadgen
