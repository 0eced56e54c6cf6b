// Second-by-second merge of load shards' interval streams (see interval_merge.hpp).
#include "loadgen/interval_merge.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>

#include <fmt/format.h>

#include "common/line_segments.hpp"
#include "loadgen/checks.hpp"
#include "loadgen/stats.hpp"

namespace faultline::loadgen {
namespace {

// A count: a non-negative integer (parsed JSON holds it unsigned, a built one may be signed).
std::uint64_t count_of(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() > 0)
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return 0;
}

std::uint64_t u64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() ? count_of(*it) : 0;
}

double num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

struct NameSum {
  std::uint64_t total = 0, ok = 0, failed = 0;
  Histogram hist;
};

// What one stream said about one second: levels are the last line's.
struct StreamPart {
  bool seen = false;
  double seconds = 0;
  std::int64_t in_flight = 0;
  std::uint64_t backlog = 0, schedule_backlog = 0;
  double offered_rps = 0;
};

}  // namespace

struct IntervalMerger::Second {
  std::uint64_t total = 0, ok = 0, failed = 0;
  std::map<std::string, std::uint64_t> errors;
  Histogram hist;
  std::uint64_t offered = 0, sent = 0, late = 0, dropped = 0;
  std::optional<std::uint64_t> unsent;
  // Parts whose schedule is by intended second ("attributed": "intended"); the merged line is
  // when all of them are.
  std::uint64_t intended_parts = 0;
  std::uint64_t stage = 0;
  std::map<std::string, NameSum> names;
  CheckSums checks;  // response checks, when the lines have them
  std::optional<std::map<std::string, SessionCounts>> sessions;  // when the lines have them
  std::vector<StreamPart> parts;
  std::uint64_t merged_from = 0;  // streams in this second that were themselves merges
};

IntervalMerger::IntervalMerger(std::vector<std::string> names)
    : names_(std::move(names)),
      last_key_(names_.size()),
      finished_(names_.size(), false),
      lines_(names_.size(), 0),
      shard_(names_.size()) {}

IntervalMerger::~IntervalMerger() = default;

void IntervalMerger::check_alignment(std::size_t stream, const json& line,
                                     const std::string& where) {
  auto st = line.find("start_unix");
  auto mo = line.find("model");
  if (st == line.end() || !st->is_number() || mo == line.end() || !mo->is_string())
    throw ConfigError(where +
                      ": no start_unix/model (written by an older faultline: its seconds cannot be "
                      "lined up with the other shards')");
  const double start = st->get<double>();
  if (!start_unix_) {
    start_unix_ = start;
    start_from_ = stream;
  } else if (std::abs(start - *start_unix_) > kIntervalStartToleranceSeconds) {
    throw ConfigError(fmt::format(
        "{}: second 0 began at {:.3f} (Unix), {:.3f} s apart from {} ({:.3f}): the shards' "
        "seconds do not line up (start every shard with the same --start-at)",
        where, start, start - *start_unix_, names_[start_from_], *start_unix_));
  }
  const std::string model = mo->get<std::string>();
  if (!model_) {
    model_ = model;
    model_from_ = stream;
  } else if (model != *model_) {
    throw ConfigError(fmt::format("{}: model \"{}\" differs from {}'s \"{}\"", where, model,
                                  names_[model_from_], *model_));
  }
  if (lines_[stream] != 1) return;
  // The shard ("I/N") is checked once per stream, on its first line.
  const auto sh = line.find("shard");
  const std::string shard = sh != line.end() && sh->is_string() ? sh->get<std::string>() : "";
  shard_[stream] = shard;
  unsigned i = 0, n = 0;
  if (shard.empty() || std::sscanf(shard.c_str(), "%u/%u", &i, &n) != 2 || n <= 1) return;
  for (std::size_t o = 0; o < names_.size(); ++o) {
    if (o == stream || shard_[o].empty()) continue;
    unsigned oi = 0, on = 0;
    if (std::sscanf(shard_[o].c_str(), "%u/%u", &oi, &on) != 2) continue;
    if (on > 1 && on != n)
      throw ConfigError(fmt::format("{}: shard {} is of another split than {}'s shard {}", where,
                                    shard, names_[o], shard_[o]));
    if (shard_[o] == shard)
      throw ConfigError(fmt::format("{}: shard {} is also {}'s (the same shard given twice?)",
                                    where, shard, names_[o]));
  }
}

void IntervalMerger::add(std::size_t stream, const json& line) {
  ++lines_[stream];
  const std::string where = fmt::format("{}: line {}", names_[stream], lines_[stream]);
  if (!line.is_object() || !line.contains("t") || !line["t"].is_number() ||
      !line.contains("requests") || !line["requests"].is_object())
    throw ConfigError(where + ": not a faultline load interval line (no t or requests)");
  if (finished_[stream]) throw ConfigError(where + ": a line after the stream's end");
  check_alignment(stream, line, where);
  const std::int64_t key = std::llround(line["t"].get<double>());
  if (last_key_[stream] && key < *last_key_[stream])
    throw ConfigError(fmt::format("{}: t = {} goes back in time", where, line["t"].dump()));
  // Whatever can be rejected is read before the second is touched: a rejected line adds nothing
  // (its counts never disagree with its histograms).
  Histogram line_hist;
  std::map<std::string, Histogram> name_hists;
  try {
    if (auto h = line.find("histogram"); h != line.end() && h->is_object())
      line_hist = Histogram::from_json(*h);
    if (auto by = line.find("requests_by_name"); by != line.end() && by->is_object())
      for (const auto& [name, v] : by->items())
        if (auto h = v.find("histogram"); h != v.end() && h->is_object())
          name_hists[name] = Histogram::from_json(*h);
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": histogram: " + e.what());
  }
  last_key_[stream] = key;

  Second& s = pending_[key];
  if (s.parts.empty()) s.parts.resize(names_.size());
  const json& req = line["requests"];
  s.total += u64(req, "total");
  s.ok += u64(req, "ok");
  s.failed += u64(req, "failed");
  if (auto e = line.find("errors"); e != line.end() && e->is_object())
    for (const auto& [kind, n] : e->items())
      s.errors[kind] += count_of(n);
  s.hist.merge(line_hist);
  if (auto by = line.find("requests_by_name"); by != line.end() && by->is_object())
    for (const auto& [name, v] : by->items()) {
      NameSum& n = s.names[name];
      n.total += u64(v, "total");
      n.ok += u64(v, "ok");
      n.failed += u64(v, "failed");
      if (auto it = name_hists.find(name); it != name_hists.end()) n.hist.merge(it->second);
    }
  if (auto c = line.find("checks"); c != line.end()) add_checks(s.checks, *c);
  if (auto ss = line.find("sessions"); ss != line.end() && ss->is_object()) {
    if (!s.sessions) s.sessions.emplace();
    for (const auto& [name, c] : ss->items())
      (*s.sessions)[name] += SessionCounts::from_json(c);
  }
  StreamPart& p = s.parts[stream];
  if (auto sc = line.find("schedule"); sc != line.end() && sc->is_object()) {
    s.offered += u64(*sc, "offered");
    s.sent += u64(*sc, "sent");
    s.late += u64(*sc, "late");
    s.dropped += u64(*sc, "dropped");
    if (sc->contains("unsent")) s.unsent = s.unsent.value_or(0) + u64(*sc, "unsent");
    p.schedule_backlog = u64(*sc, "backlog");
    if (auto a = sc->find("attributed"); a != sc->end() && *a == "intended") ++s.intended_parts;
  }
  s.stage = std::max(s.stage, u64(line, "stage"));
  s.merged_from = std::max(s.merged_from, u64(line, "merged_from"));
  // A line without `seconds` (older files) covered total / throughput_rps, or a second.
  double seconds = num(line, "seconds");
  if (seconds <= 0) {
    const double rps = num(line, "throughput_rps");
    seconds = rps > 0 ? static_cast<double>(u64(req, "total")) / rps : 1.0;
  }
  p.seen = true;
  p.seconds += seconds;
  if (auto f = line.find("in_flight"); f != line.end() && f->is_number_integer())
    p.in_flight = f->get<std::int64_t>();
  p.backlog = u64(line, "backlog");
  p.offered_rps = num(line, "offered_rps");
}

void IntervalMerger::finish(std::size_t stream) {
  finished_[stream] = true;
}

std::vector<json> IntervalMerger::take_ready() {
  // A second is complete once every unfinished stream has a line past it: a stream's final line
  // may fall into the same second as its last regular one.
  std::optional<std::int64_t> limit;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (finished_[i]) continue;
    const std::int64_t past = last_key_[i] ? *last_key_[i] : std::numeric_limits<int>::min();
    limit = limit ? std::min(*limit, past) : past;
  }
  std::vector<json> out;
  while (!pending_.empty() && (!limit || pending_.begin()->first < *limit)) {
    auto node = pending_.extract(pending_.begin());
    const Second& s = node.mapped();
    double seconds = 0, offered_rps = 0;
    std::int64_t in_flight = 0;
    std::uint64_t backlog = 0, schedule_backlog = 0, from = 0;
    for (const StreamPart& p : s.parts) {
      if (!p.seen) continue;
      ++from;
      seconds = std::max(seconds, p.seconds);
      in_flight += p.in_flight;
      backlog += p.backlog;
      schedule_backlog += p.schedule_backlog;
      offered_rps += p.offered_rps;
    }
    json errors = json::object();
    for (std::size_t k = 0; k < kErrorKinds; ++k)
      errors[error_kind_name(k)] = 0;
    for (const auto& [kind, n] : s.errors)
      errors[kind] = n;
    json j{{"t", static_cast<double>(node.key())},
           {"seconds", seconds},
           {"requests", {{"total", s.total}, {"ok", s.ok}, {"failed", s.failed}}},
           {"errors", std::move(errors)},
           {"throughput_rps", seconds > 0 ? static_cast<double>(s.total) / seconds : 0.0},
           {"latency_seconds", latency_summary(s.hist)},
           {"histogram", s.hist.to_json()},
           {"in_flight", in_flight},
           {"backlog", backlog},
           {"offered_rps", offered_rps},
           {"stage", s.stage}};
    json by = json::object();
    for (const auto& [name, n] : s.names)
      by[name] = {
          {"total", n.total}, {"ok", n.ok}, {"failed", n.failed}, {"histogram", n.hist.to_json()}};
    j["requests_by_name"] = std::move(by);
    if (!s.checks.empty()) j["checks"] = checks_to_json(s.checks);
    if (s.sessions) {
      json ss = json::object();
      for (const auto& [name, c] : *s.sessions)
        ss[name] = c.to_json();
      j["sessions"] = std::move(ss);
    }
    json sched{{"offered", s.offered},
               {"sent", s.sent},
               {"late", s.late},
               {"dropped", s.dropped},
               {"backlog", schedule_backlog}};
    if (s.unsent) sched["unsent"] = *s.unsent;
    if (from > 0 && s.intended_parts == from) sched["attributed"] = "intended";
    j["schedule"] = std::move(sched);
    j["start_unix"] = start_unix_.value_or(0.0);
    j["model"] = model_.value_or("");
    j["merged_from"] = std::max<std::uint64_t>(from, s.merged_from);
    out.push_back(std::move(j));
  }
  return out;
}

namespace {

// Reads one interval stream line by line: its rolled segments (gzip or plain), then PATH, the
// same order as for_each_line, but pulled so that N streams are read side by side.
class StreamReader {
 public:
  explicit StreamReader(const std::string& path) {
    for (auto& f : rolled_segments(path))
      files_.push_back(f.string());
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) files_.push_back(path);
    if (files_.empty()) throw ConfigError(path + ": no such file");
  }
  ~StreamReader() {
    if (gz_ != nullptr) gzclose(gz_);
  }
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // The next non-empty line, or nullopt at the end of the stream.
  std::optional<std::string> next() {
    for (;;) {
      if (gz_ == nullptr) {
        if (index_ >= files_.size()) return std::nullopt;
        // gzopen reads a plain file as it is.
        gz_ = gzopen(files_[index_].c_str(), "rb");
        if (gz_ == nullptr)
          throw ConfigError(
              fmt::format("cannot read {}: {}", files_[index_], std::strerror(errno)));
      }
      std::string line;
      char buf[1 << 14];
      bool got = false;
      while (gzgets(gz_, buf, sizeof buf) != nullptr) {
        got = true;
        line += buf;
        if (!line.empty() && line.back() == '\n') break;
      }
      int code = 0;
      const char* msg = gzerror(gz_, &code);
      if (code != Z_OK && code != Z_STREAM_END)
        throw ConfigError(fmt::format("cannot read {}: {}", files_[index_], msg));
      if (!got) {
        gzclose(gz_);
        gz_ = nullptr;
        ++index_;
        continue;
      }
      if (!line.empty() && line.back() == '\n') line.pop_back();
      if (!line.empty()) return line;
    }
  }

 private:
  std::vector<std::string> files_;
  std::size_t index_ = 0;
  gzFile gz_ = nullptr;
};

}  // namespace

std::uint64_t merge_interval_files(const std::vector<std::string>& paths,
                                   const std::string& out_path) {
  if (paths.empty()) throw ConfigError("--intervals: no interval files to merge");
  std::vector<std::unique_ptr<StreamReader>> readers;
  for (const auto& p : paths)
    readers.push_back(std::make_unique<StreamReader>(p));
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (out_path != "-") {
    file.open(out_path, std::ios::trunc);
    if (!file) throw ConfigError(fmt::format("--intervals-out: cannot write {}", out_path));
    out = &file;
  }
  IntervalMerger merger(paths);
  std::uint64_t written = 0;
  auto flush = [&] {
    for (const json& j : merger.take_ready()) {
      *out << j.dump() << '\n';
      ++written;
    }
  };
  // One line of each stream in turn: the streams advance a second at a time together.
  std::vector<bool> done(paths.size(), false);
  for (std::size_t live = paths.size(); live > 0;) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (done[i]) continue;
      auto line = readers[i]->next();
      if (!line) {
        done[i] = true;
        merger.finish(i);
        --live;
        continue;
      }
      json j = parse_json_or_discarded(*line);
      if (j.is_discarded()) {
        // A torn last line (the shard was killed mid-write) is dropped; one elsewhere is damage.
        if (!readers[i]->next()) {
          done[i] = true;
          merger.finish(i);
          --live;
          continue;
        }
        throw ConfigError(fmt::format("{}: a line that is not JSON", paths[i]));
      }
      merger.add(i, j);
    }
    flush();
  }
  flush();
  out->flush();
  if (!*out) throw ConfigError(fmt::format("--intervals-out: cannot write {}", out_path));
  return written;
}

}  // namespace faultline::loadgen
