// Scenario parsing, load: the load generator's flags, its workload (parsed by the load
// generator's own parser, errors re-rooted under $.load.workload) and its stages grammar.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "loadgen/load_options.hpp"
#include "loadgen/stages.hpp"
#include "loadgen/url.hpp"
#include "loadgen/workload.hpp"
#include "runner/scenario/scenario_parse.hpp"

namespace faultline::runner::scenario_detail {

namespace {

// More local processes than this only compete for the same cores; many machines is the
// distributed set-up (docs/distributed.md).
constexpr std::int64_t kMaxLoadShards = 64;

// Parses a workload document with loadgen::parse_workload; its errors ("$.mix[0].url: ...") are
// reported under `path` ("$.load.workload.mix[0].url: ..."), or, for a workload `file`, at `path`
// naming the file and the path inside it. The request names (and the session entries' names),
// or nullopt when it did not parse.
std::optional<std::vector<std::string>> check_workload(const json& doc, const std::string& path,
                                                       const std::string& file,
                                                       ConfigErrors& errors) {
  ConfigErrors inner;
  loadgen::Workload w = loadgen::parse_workload(doc, inner);
  for (const auto& e : inner.list()) {
    const auto colon = e.find(": ");
    const std::string at = e.substr(0, colon);
    const std::string message = colon == std::string::npos ? e : e.substr(colon + 2);
    if (!file.empty())
      errors.add(path, fmt::format("{} {}: {}", file, at, message));
    else if (at.rfind('$', 0) == 0)
      errors.add(path + at.substr(1), message);
    else
      errors.add(path, e);
  }
  if (!inner.empty()) return std::nullopt;
  // Session entries by their own name too ("chat" beside "chat.connect", "chat.message"): what
  // the reconnects assertion's `request` names.
  for (const auto& n : w.session_names)
    if (std::find(w.request_names.begin(), w.request_names.end(), n) == w.request_names.end())
      w.request_names.push_back(n);
  return std::move(w.request_names);
}

}  // namespace

void parse_load(const json& l, const std::string& path, const std::string& base_dir, Scenario& s,
                ConfigErrors& errors) {
  if (auto ext = l.find("external"); ext != l.end()) {
    if (!ext->is_boolean()) {
      errors.add(path_join(path, "external"), "must be true or false");
    } else if (ext->get<bool>()) {
      // The load runs elsewhere: nothing here describes it.
      reject_unknown_keys(l, path, {"external"}, errors);
      s.load.external = true;
      return;
    }
  }
  s.load.enabled = true;
  reject_unknown_keys(l, path,
                      {"via", "url", "workload", "rate", "users", "stages", "connections",
                       "timeout", "seed", "apdex_t", "shards", "external", "args"},
                      errors);
  auto url = get_string(l, path, "url", errors);
  if (url) {
    std::string error;
    if (!loadgen::parse_url(*url, error))
      errors.add(path_join(path, "url"), error);
    else if (l.contains("via"))
      errors.add(path_join(path, "url"), "give either \"url\" or \"via\", not both");
    s.load.url = *url;
  }
  if (auto via = get_string(l, path, "via", errors)) {
    if (!s.proxy(*via))
      errors.add(path_join(path, "via"), fmt::format("no proxy named \"{}\"", *via));
    s.load.via = *via;
  } else if (!s.target.enabled && !url) {
    errors.add(path_join(path, "url"),
               "\"url\" or \"via\" is required when services.target is not set (the load "
               "needs somewhere to go)");
  }
  const std::string wpath = path_join(path, "workload");
  if (auto it = l.find("workload"); it == l.end()) {
    errors.add(wpath, "required field is missing");
  } else if (it->is_string()) {
    std::filesystem::path f(it->get<std::string>());
    if (f.is_relative()) f = std::filesystem::path(base_dir) / f;
    s.load.workload_file = std::filesystem::absolute(f).lexically_normal().string();
    if (!std::filesystem::is_regular_file(f)) {
      errors.add(wpath, fmt::format("no such file: {}", f.string()));
    } else {
      try {
        s.load.request_names = check_workload(load_json_file(s.load.workload_file), wpath,
                                              s.load.workload_file, errors);
      } catch (const std::exception& e) {
        errors.add(wpath, e.what());
      }
    }
  } else if (it->is_object()) {
    s.load.workload_inline = *it;
    s.load.request_names = check_workload(*it, wpath, "", errors);
  } else {
    errors.add(path_join(path, "workload"),
               "must be a workload file path or an embedded workload object");
  }
  // The load generator's own rules, the only copy: a scenario is refused for exactly what
  // `faultline load` refuses.
  // ("duration" is the scenario's, refused above as unknown here: not reported twice.)
  if (l.contains("duration")) {
    json without = l;
    without.erase("duration");
    s.load.options = loadgen::parse_load_options(without, path, errors);
  } else {
    s.load.options = loadgen::parse_load_options(l, path, errors);
  }
  if (auto a = get_duration(l, path, "apdex_t", errors)) {
    if (a->count() <= 0)
      errors.add(path_join(path, "apdex_t"), "must be > 0");
    else
      s.load.apdex_t_seconds = static_cast<double>(a->count()) / 1e9;
  }
  if (auto n = get_integer(l, path, "shards", errors)) {
    if (*n < 1 || *n > kMaxLoadShards)
      errors.add(path_join(path, "shards"),
                 fmt::format("must be between 1 and {} (local load processes)", kMaxLoadShards));
    else
      s.load.shards = *n;
  }
  s.load.args = get_string_list(l, path, "args", errors);
  for (const auto& a : s.load.args)
    if (s.load.shards > 1 && (a.rfind("--shard", 0) == 0 || a.rfind("--start-at", 0) == 0))
      errors.add(path_join(path, "args"),
                 fmt::format("{} is set by the runner when \"shards\" is given", a));
}

}  // namespace faultline::runner::scenario_detail
