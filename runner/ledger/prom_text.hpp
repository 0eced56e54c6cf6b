// A small reader for the Prometheus text exposition format (what every faultline component serves
// on /metrics): samples with labels, counter deltas between two scrapes, and quantiles from
// histogram bucket deltas (the same linear interpolation as PromQL's histogram_quantile).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::runner {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

class PromSnapshot {
 public:
  PromSnapshot() = default;
  // Parses exposition text; malformed lines are skipped (a scrape must never abort a run).
  static PromSnapshot parse(std::string_view text);

  bool empty() const noexcept { return samples_.empty(); }
  const std::vector<PromSample>& samples() const noexcept { return samples_; }
  // Sum of every sample named `name` whose labels include all of `match`.
  std::optional<double> sum(const std::string& name,
                            const std::map<std::string, std::string>& match = {}) const;
  // Distinct values of `label` among samples named `name`.
  std::vector<std::string> label_values(const std::string& name, const std::string& label) const;
  // this - earlier, sample by sample (a sample missing in `earlier` counts from 0; a counter that
  // went down — a restart — counts from 0 as well).
  PromSnapshot delta_since(const PromSnapshot& earlier) const;
  // Adds another delta sample by sample (to merge phases).
  void add(const PromSnapshot& other);

 private:
  std::vector<PromSample> samples_;
};

// Quantile q (0..1) of histogram `name` (its `name_bucket` samples with matching labels), by
// linear interpolation inside the bucket; nullopt when the histogram has no observations. When the
// quantile falls in the +Inf bucket, the highest finite bound is returned (as PromQL does).
std::optional<double> histogram_quantile(const PromSnapshot& s, const std::string& name,
                                         const std::map<std::string, std::string>& match, double q);

}  // namespace faultline::runner
