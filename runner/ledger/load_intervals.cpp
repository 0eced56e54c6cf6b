// Reading the load's interval lines live, merged across local shards (see load_intervals.hpp).
#include "runner/ledger/load_intervals.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "loadgen/merge.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;

LoadIntervals::LoadIntervals(const std::vector<std::string>& paths,
                             const std::string& merged_path) {
  for (const auto& p : paths)
    tails_.push_back(std::make_unique<LineTail>(p));
  if (paths.size() > 1) {
    merger_.emplace(paths);
    merged_ = std::make_unique<RollingLineWriter>();
    std::string error;
    if (!merged_->open(merged_path, error))
      throw ConfigError(fmt::format("cannot write the merged intervals: {}", error));
  }
}

LoadIntervals::~LoadIntervals() = default;

std::vector<json> LoadIntervals::read(bool final) {
  std::vector<json> out;
  if (!merger_) {
    for (const auto& line : tails_[0]->read())
      out.push_back(parse_json_or_discarded(line));
    return out;
  }
  for (std::size_t i = 0; i < tails_.size(); ++i)
    for (const auto& line : tails_[i]->read()) {
      json j = parse_json_or_discarded(line);
      try {
        merger_->add(i, j);
      } catch (const std::exception& e) {  // ConfigError, or a JSON type error of an odd line
        // Cannot happen with shards this runner started together, short of a torn line.
        if (rejected_++ == 0) spdlog::warn("run: an interval line of a load shard: {}", e.what());
      }
    }
  if (final && !finished_) {
    finished_ = true;
    for (std::size_t i = 0; i < tails_.size(); ++i)
      merger_->finish(i);
  }
  for (json& j : merger_->take_ready()) {
    if (!merged_->write(j.dump()))
      spdlog::warn("run: cannot append to the merged intervals (is the disk full?)");
    // Rolled hourly like a load process's own stream, so a 24-hour sharded run stays bounded.
    if (const auto t = j.find("t");
        t != j.end() && t->is_number() && t->get<double>() >= next_roll_) {
      std::string error;
      if (!merged_->roll(error)) spdlog::warn("run: merged intervals: {}", error);
      while (next_roll_ <= t->get<double>())
        next_roll_ += kMergedRollSeconds;
    }
    out.push_back(std::move(j));
  }
  return out;
}

std::string shard_intervals_path(const std::string& dir, std::size_t index) {
  return (fs::path(dir) / fmt::format("load-intervals.shard{}.jsonl", index)).string();
}

std::string shard_results_path(const std::string& dir, std::size_t index) {
  return (fs::path(dir) / fmt::format("load-results.shard{}.json", index)).string();
}

bool merge_shard_results(const std::vector<std::string>& paths, const std::string& out_path) {
  try {
    std::vector<json> docs;
    for (const auto& p : paths)
      docs.push_back(load_json_file(p));
    std::ofstream(out_path) << loadgen::merge_results(docs, paths).dump() << "\n";
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("run: the load shards' results were not merged: {}", e.what());
    return false;
  }
}

}  // namespace faultline::runner
