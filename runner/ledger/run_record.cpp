// The run's on-disk record (see run_record.hpp): each event's JSON form, written and read here
// only.
#include "runner/ledger/run_record.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/cli.hpp"
#include "common/files.hpp"
#include "common/version.hpp"

namespace faultline::runner {

namespace fs = std::filesystem;

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::error:
      return "error";
    case Verdict::interrupted:
      return "interrupted";
  }
  return "error";
}

std::optional<Verdict> parse_verdict(std::string_view text) {
  for (Verdict v : {Verdict::pass, Verdict::fail, Verdict::error, Verdict::interrupted})
    if (to_string(v) == text) return v;
  return std::nullopt;
}

int exit_code_of(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return kExitOk;
    case Verdict::fail:
      return kExitFailed;
    case Verdict::error:
      return kExitUsage;
    case Verdict::interrupted:
      return kExitInterrupted;
  }
  return kExitUsage;
}

namespace {

json opt(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

struct ToJson {
  json operator()(const event::Phase& e) const {
    return {{"type", "phase"}, {"k", e.k}, {"at", e.at}};
  }
  json operator()(const event::Boundary& e) const {
    return {{"type", "boundary"},
            {"k", e.k},
            {"at", e.at},
            {"component", e.component},
            {"metrics", e.metrics}};
  }
  json operator()(const event::Resources& e) const {
    return {{"type", "resources"}, {"t", e.t}, {"values", e.values}};
  }
  json operator()(const event::Timeline& e) const {
    return {{"type", "timeline"}, {"at", e.at}, {"phase", e.phase}, {"action", e.action}};
  }
  json operator()(const event::Promql& e) const {
    return {{"type", "promql"}, {"name", e.name},   {"value", opt(e.value)},
            {"error", e.error}, {"query", e.query}, {"at", e.at}};
  }
  json operator()(const event::Death& e) const {
    return {{"type", "death"},
            {"at_seconds", e.at_seconds},
            {"component", e.component},
            {"status", e.status},
            {"log", e.log}};
  }
  json operator()(const event::CutShort& e) const {
    return {{"type", "cut_short"}, {"started", e.started}, {"at", e.at}};
  }
  json operator()(const event::End& e) const {
    return {{"type", "end"},
            {"verdict", to_string(e.verdict)},
            {"error", e.error},
            {"interrupted", e.verdict == Verdict::interrupted},
            {"duration_seconds", e.duration_seconds},
            {"as_of_seconds", e.as_of_seconds}};
  }
};

}  // namespace

json to_json(const RunEvent& e) {
  return std::visit(ToJson{}, e);
}

std::optional<RunEvent> event_from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    const std::string type = j.value("type", "");
    if (type == "phase")
      return event::Phase{j.at("k").get<std::size_t>(), j.at("at").get<double>()};
    if (type == "boundary")
      return event::Boundary{j.at("k").get<std::size_t>(), j.at("at").get<double>(),
                             j.at("component").get<std::string>(),
                             j.at("metrics").get<std::string>()};
    if (type == "resources")
      return event::Resources{j.at("t").get<double>(),
                              j.at("values").get<std::map<std::string, double>>()};
    if (type == "timeline")
      return event::Timeline{j.at("at").get<double>(), j.value("phase", ""), j.value("action", "")};
    if (type == "promql") {
      event::Promql p;
      p.name = j.value("name", "");
      if (auto it = j.find("value"); it != j.end() && it->is_number()) p.value = it->get<double>();
      p.error = j.value("error", "");
      p.query = j.value("query", "");
      p.at = j.value("at", 0.0);
      return p;
    }
    if (type == "death")
      return event::Death{j.value("at_seconds", 0.0), j.at("component").get<std::string>(),
                          j.value("status", -1), j.value("log", "")};
    if (type == "cut_short")
      return event::CutShort{j.at("started").get<std::size_t>(), j.at("at").get<double>()};
    if (type == "end") {
      event::End e;
      // Records of faultline before 0.10 wrote "verdict": "" for a run that was not an error and
      // a separate "interrupted".
      const auto v = parse_verdict(j.value("verdict", ""));
      if (j.value("interrupted", false))
        e.verdict = Verdict::interrupted;
      else if (v == Verdict::error)
        e.verdict = Verdict::error;
      else
        e.verdict = Verdict::pass;  // pass or fail: the assertions decide again
      e.error = j.value("error", "");
      e.duration_seconds = j.value("duration_seconds", 0.0);
      e.as_of_seconds = j.value("as_of_seconds", e.duration_seconds);
      return e;
    }
  } catch (const json::exception&) {
  }
  return std::nullopt;
}

json to_json(const RunHeader& h) {
  return {{"record_version", 1},
          {"faultline_version", kVersion},
          {"scenario_source", h.scenario_source},
          {"scenario_file", h.scenario_file},
          {"base_dir", h.base_dir},
          {"placeholder_values", h.placeholder_values},
          {"scaled_to", h.scaled_to ? json(*h.scaled_to) : json(nullptr)},
          {"started_at", h.started_at},
          {"t0_unix", h.t0_unix},
          {"endpoints", h.endpoints}};
}

RunHeader header_from_json(const json& j) {
  RunHeader h;
  try {
    h.scenario_source = j.at("scenario_source");
    h.scenario_file = j.value("scenario_file", "");
    h.base_dir = j.value("base_dir", ".");
    h.placeholder_values = j.value("placeholder_values", std::map<std::string, std::string>{});
    if (auto it = j.find("scaled_to"); it != j.end() && it->is_number())
      h.scaled_to = it->get<double>();
    h.started_at = j.value("started_at", "");
    h.t0_unix = j.value("t0_unix", 0.0);
    h.endpoints = j.value("endpoints", json::object());
  } catch (const json::exception& e) {
    throw ConfigError(fmt::format("{}: {}", kRunRecordFile, e.what()));
  }
  return h;
}

RunRecordWriter::~RunRecordWriter() {
  if (events_) std::fclose(events_);
}

std::string RunRecordWriter::open(const std::string& dir, const RunHeader& header) {
  {
    std::lock_guard lock(mutex_);
    dir_ = dir;
  }
  if (auto why = rewrite_header(header); !why.empty()) return why;
  std::lock_guard lock(mutex_);
  const std::string path = (fs::path(dir) / kRunEventsFile).string();
  events_ = std::fopen(path.c_str(), "we");
  if (!events_) return "cannot open " + path;
  return "";
}

std::string RunRecordWriter::rewrite_header(const RunHeader& header) {
  std::lock_guard lock(mutex_);
  try {
    write_file_atomically(
        (fs::path(dir_) / kRunRecordFile).string(),
        to_json(header).dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  } catch (const std::exception& e) {
    ++failed_;
    return e.what();
  }
  return "";
}

void RunRecordWriter::append(const RunEvent& event) {
  // Metrics texts and command output come from other programs: invalid UTF-8 is replaced, never
  // thrown (nlohmann's dump() throws on it by default).
  const std::string line =
      to_json(event).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  if (!events_) return;
  if (std::fwrite(line.data(), 1, line.size(), events_) != line.size() || std::fflush(events_) != 0)
    ++failed_;
}

std::size_t RunRecordWriter::failed_writes() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

RecordedRun read_run_record(const std::string& dir) {
  RecordedRun r;
  const std::string header = (fs::path(dir) / kRunRecordFile).string();
  if (!fs::exists(header))
    throw ConfigError(
        fmt::format("{}: no {} (not a faultline run output directory, or a run "
                    "from a faultline without run records)",
                    dir, kRunRecordFile));
  r.header = header_from_json(load_json_file(header));
  std::ifstream in((fs::path(dir) / kRunEventsFile).string());
  std::string line;
  while (std::getline(in, line)) {
    auto j = parse_json(line);
    auto e = j ? event_from_json(*j) : std::nullopt;
    if (e)
      r.events.push_back(std::move(*e));
    else
      ++r.skipped_lines;
  }
  return r;
}

}  // namespace faultline::runner
