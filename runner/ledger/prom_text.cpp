// Prometheus text-format reader (see prom_text.hpp).
#include "runner/ledger/prom_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace faultline::runner {

namespace {

std::string key_of(const PromSample& s) {
  std::string k = s.name;
  for (const auto& [l, v] : s.labels) {
    k += '\x1f';
    k += l;
    k += '=';
    k += v;
  }
  return k;
}

bool matches(const PromSample& s, const std::map<std::string, std::string>& match) {
  for (const auto& [l, v] : match) {
    auto it = s.labels.find(l);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

std::optional<double> parse_value(std::string_view v) {
  if (v == "+Inf" || v == "Inf") return HUGE_VAL;
  if (v == "-Inf") return -HUGE_VAL;
  if (v == "NaN") return std::nan("");
  std::string tmp(v);
  char* end = nullptr;
  double d = std::strtod(tmp.c_str(), &end);
  if (end == tmp.c_str() || *end != '\0') return std::nullopt;
  return d;
}

// Parses one sample line; false when malformed.
bool parse_line(std::string_view line, PromSample& out) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t')
    ++i;
  out.name = std::string(line.substr(0, i));
  if (out.name.empty()) return false;
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      while (i < line.size() && (line[i] == ' ' || line[i] == ','))
        ++i;
      if (i >= line.size()) return false;
      if (line[i] == '}') {
        ++i;
        break;
      }
      std::size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
        return false;
      std::string label(line.substr(i, eq - i));
      std::string value;
      std::size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value += line[j] == 'n' ? '\n' : line[j];
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) return false;
      out.labels[label] = value;
      i = j + 1;
    }
  }
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
    ++i;
  std::size_t end = line.find_first_of(" \t", i);
  auto v =
      parse_value(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
  if (!v) return false;
  out.value = *v;
  return true;
}

}  // namespace

PromSnapshot PromSnapshot::parse(std::string_view text) {
  PromSnapshot s;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    PromSample sample;
    if (parse_line(line, sample)) s.samples_.push_back(std::move(sample));
  }
  return s;
}

std::optional<double> PromSnapshot::sum(const std::string& name,
                                        const std::map<std::string, std::string>& match) const {
  std::optional<double> total;
  for (const auto& s : samples_)
    if (s.name == name && matches(s, match)) total = total.value_or(0) + s.value;
  return total;
}

std::vector<std::string> PromSnapshot::label_values(const std::string& name,
                                                    const std::string& label) const {
  std::vector<std::string> out;
  for (const auto& s : samples_) {
    if (s.name != name) continue;
    auto it = s.labels.find(label);
    if (it != s.labels.end() && std::find(out.begin(), out.end(), it->second) == out.end())
      out.push_back(it->second);
  }
  return out;
}

PromSnapshot PromSnapshot::delta_since(const PromSnapshot& earlier) const {
  std::map<std::string, double> before;
  for (const auto& s : earlier.samples_)
    before[key_of(s)] = s.value;
  PromSnapshot d;
  for (const auto& s : samples_) {
    PromSample x = s;
    auto it = before.find(key_of(s));
    if (it != before.end() && s.value >= it->second) x.value = s.value - it->second;
    d.samples_.push_back(std::move(x));
  }
  return d;
}

void PromSnapshot::add(const PromSnapshot& other) {
  std::map<std::string, std::size_t> where;
  for (std::size_t i = 0; i < samples_.size(); ++i)
    where[key_of(samples_[i])] = i;
  for (const auto& s : other.samples_) {
    auto it = where.find(key_of(s));
    if (it != where.end())
      samples_[it->second].value += s.value;
    else
      samples_.push_back(s);
  }
}

std::optional<double> histogram_quantile(const PromSnapshot& s, const std::string& name,
                                         const std::map<std::string, std::string>& match,
                                         double q) {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
  const std::string bucket_name = name + "_bucket";
  for (const auto& sample : s.samples()) {
    if (sample.name != bucket_name || !matches(sample, match)) continue;
    auto le = sample.labels.find("le");
    if (le == sample.labels.end()) continue;
    auto bound = parse_value(le->second);
    if (!bound) continue;
    bool merged = false;
    for (auto& b : buckets)
      if (b.first == *bound) {
        b.second += sample.value;  // same bucket from several label sets (summed)
        merged = true;
      }
    if (!merged) buckets.emplace_back(*bound, sample.value);
  }
  if (buckets.empty()) return std::nullopt;
  std::sort(buckets.begin(), buckets.end());
  const double total = buckets.back().second;
  if (total <= 0) return std::nullopt;
  const double rank = q * total;
  double prev_bound = 0, prev_count = 0;
  for (const auto& [bound, count] : buckets) {
    if (count >= rank) {
      if (std::isinf(bound)) return prev_bound;  // highest finite bound
      if (count == prev_count) return bound;
      return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count);
    }
    prev_bound = bound;
    prev_count = count;
  }
  return prev_bound;
}

}  // namespace faultline::runner
