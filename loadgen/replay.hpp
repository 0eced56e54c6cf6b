// Replay inputs: `faultline proxy` recordings (JSON lines) and HTTP Archive 1.2 files, turned into
// ready-to-send requests with their original offsets.
#pragma once

#include <string>
#include <vector>

#include "loadgen/engine.hpp"

namespace faultline::loadgen {

// Each throws ConfigError naming the file and line/JSON path of the first problem. Request names
// ("GET /p") are added to `w` (method + first path segment, so the names stay few).
std::vector<ReplayItem> load_recording(const std::string& file, const std::string& host_header,
                                       Workload& w);
std::vector<ReplayItem> load_har(const std::string& file, const std::string& host_header,
                                 Workload& w);

}  // namespace faultline::loadgen
