// Scenario parsing, the user's own processes (services.processes) and the start order of
// everything the runner starts: explicit `after` lists plus the implicit edges, checked for
// unknown names and cycles.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/safe_regex.hpp"
#include "common/url.hpp"
#include "runner/scenario/scenario_parse.hpp"
#include "runner/system/process_runner.hpp"

namespace faultline::runner::scenario_detail {

std::optional<HttpUrl> parse_http_url(const std::string& url) {
  std::string error;
  auto u = parse_url(url, error);
  if (!u || u->tls) return std::nullopt;
  return HttpUrl{u->host_port(), u->target};
}

namespace {

std::map<std::string, std::string> string_map(const json& o, const std::string& path,
                                              const char* key, ConfigErrors& errors) {
  std::map<std::string, std::string> out;
  const json* m = get_object(o, path, key, errors);
  if (!m) return out;
  for (const auto& [k, v] : m->items()) {
    if (!v.is_string())
      errors.add(path_join(path_join(path, key), k), "must be a string");
    else
      out[k] = v.get<std::string>();
  }
  return out;
}

void parse_ready(const json& o, const std::string& path, ProcessSpec& ps, ConfigErrors& errors) {
  const json* r = get_object(o, path, "ready", errors);
  if (!r) return;
  const std::string rp = path_join(path, "ready");
  reject_unknown_keys(*r, rp, {"http", "tcp", "log", "timeout"}, errors);
  int kinds = 0;
  if (auto v = get_string(*r, rp, "http", errors)) {
    ++kinds;
    ps.ready.kind = ReadyCheck::Kind::http;
    ps.ready.value = *v;
    if (!parse_http_url(*v))
      errors.add(
          path_join(rp, "http"),
          fmt::format("must be a URL like \"http://127.0.0.1:8080/healthz\", got \"{}\"", *v));
  }
  if (auto v = get_string(*r, rp, "tcp", errors)) {
    ++kinds;
    ps.ready.kind = ReadyCheck::Kind::tcp;
    ps.ready.value = *v;
    auto hp = parse_host_port(*v);
    if (!hp || hp->port == 0)
      errors.add(path_join(rp, "tcp"), fmt::format("must be HOST:PORT, got \"{}\"", *v));
  }
  if (auto v = get_string(*r, rp, "log", errors)) {
    ++kinds;
    ps.ready.kind = ReadyCheck::Kind::log;
    ps.ready.value = *v;
    std::string why;
    if (!SafeRegex::compile(*v, why))
      errors.add(path_join(rp, "log"), fmt::format("not a valid regex (RE2 syntax): {}", why));
  }
  if (kinds != 1) errors.add(rp, "give exactly one of \"http\", \"tcp\" or \"log\"");
  if (auto t = get_duration(*r, rp, "timeout", errors)) {
    ps.ready.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*t);
    if (*t < std::chrono::milliseconds(1) || *t > std::chrono::hours(1))
      errors.add(path_join(rp, "timeout"), "must be between 1ms and 1h");
  }
}

void parse_stop(const json& o, const std::string& path, ProcessSpec& ps, ConfigErrors& errors) {
  const json* st = get_object(o, path, "stop", errors);
  if (!st) return;
  const std::string sp = path_join(path, "stop");
  reject_unknown_keys(*st, sp, {"signal", "grace"}, errors);
  if (auto sig = get_string(*st, sp, "signal", errors)) {
    if (auto n = parse_signal(*sig)) {
      ps.stop_signal = *n;
      ps.stop_signal_name = *sig;
    } else {
      errors.add(path_join(sp, "signal"), fmt::format("unknown signal \"{}\"", *sig));
    }
  }
  if (auto g = get_duration(*st, sp, "grace", errors)) {
    ps.stop_grace_seconds = static_cast<double>(g->count()) / 1e9;
    if (ps.stop_grace_seconds > 600) errors.add(path_join(sp, "grace"), "must be at most 10m");
  }
}

// A files entry: its text (a string; a {"template": P} was replaced by P's text before the
// placeholders, see expand_file_templates) or {"copy": P}, copied as it is when the process starts.
void parse_files(const json& o, const std::string& p, ProcessSpec& ps, ConfigErrors& errors) {
  const json* m = get_object(o, p, "files", errors);
  if (!m) return;
  for (const auto& [rel, v] : m->items()) {
    const std::string fpath = path_join(path_join(p, "files"), rel);
    const std::filesystem::path fp(rel);
    const bool escapes = std::any_of(fp.begin(), fp.end(), [](const auto& c) { return c == ".."; });
    if (rel.empty() || fp.is_absolute() || escapes)
      errors.add(fpath, "must be a relative path inside the process's directory (no \"..\")");
    if (v.is_string()) {
      ps.files[rel] = v.get<std::string>();
    } else if (v.is_object() && v.size() == 1 && v.contains("copy") && v["copy"].is_string()) {
      ps.copies[rel] = v["copy"].get<std::string>();  // made absolute and checked when expanded
    } else if (!(v.is_object() && v.contains("template"))) {  // a template's errors: reported
      errors.add(fpath,
                 "must be the file's text, {\"template\": \"path\"} or {\"copy\": \"path\"}");
    }
  }
}

// "user" and "group": looked up now (an unknown name is an error before anything starts), and
// refused unless the runner is root or they are its own.
void parse_account(const json& o, const std::string& p, ProcessSpec& ps, ConfigErrors& errors) {
  ps.user = get_string(o, p, "user", errors).value_or("");
  ps.group = get_string(o, p, "group", errors).value_or("");
  if (ps.user.empty() && ps.group.empty()) return;
  std::vector<char> buf(16384);
  if (!ps.user.empty()) {
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(ps.user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
      errors.add(path_join(p, "user"), fmt::format("no user \"{}\" on this machine", ps.user));
      return;
    }
    ps.uid = found->pw_uid;
    ps.gid = found->pw_gid;
    ps.home = found->pw_dir ? found->pw_dir : "";
    int n = 64;
    std::vector<gid_t> list(static_cast<std::size_t>(n));
    if (::getgrouplist(ps.user.c_str(), found->pw_gid, list.data(), &n) < 0) {
      list.resize(static_cast<std::size_t>(n));
      ::getgrouplist(ps.user.c_str(), found->pw_gid, list.data(), &n);
    }
    list.resize(static_cast<std::size_t>(std::max(n, 0)));
    ps.groups.assign(list.begin(), list.end());
  }
  if (!ps.group.empty()) {
    group gr{};
    group* found = nullptr;
    if (::getgrnam_r(ps.group.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found) {
      errors.add(path_join(p, "group"), fmt::format("no group \"{}\" on this machine", ps.group));
      return;
    }
    ps.gid = found->gr_gid;
    if (ps.user.empty()) ps.groups = {found->gr_gid};
  }
  const bool own = (!ps.uid || *ps.uid == ::geteuid()) && (!ps.gid || *ps.gid == ::getegid());
  if (::geteuid() != 0 && !own)
    errors.add(path_join(p, ps.user.empty() ? "group" : "user"),
               fmt::format("running a process as another user or group needs root (faultline "
                           "runs as uid {}): run faultline as root, or drop \"user\"/\"group\"",
                           ::geteuid()));
}

}  // namespace

json expand_file_templates(const json& raw, const std::string& base_dir, ConfigErrors& errors) {
  constexpr std::uint64_t kMaxBytes = 4u << 20;
  json doc = raw;
  auto services = doc.find("services");
  if (services == doc.end() || !services->is_object()) return doc;
  auto processes = services->find("processes");
  if (processes == services->end() || !processes->is_array()) return doc;
  for (std::size_t i = 0; i < processes->size(); ++i) {
    json& proc = (*processes)[i];
    if (!proc.is_object() || !proc.contains("files") || !proc["files"].is_object()) continue;
    const std::string fp = path_join(path_index("$.services.processes", i), "files");
    for (auto& [rel, v] : proc["files"].items()) {
      if (!v.is_object() || v.size() != 1) continue;
      const char* kind = v.contains("template") ? "template" : v.contains("copy") ? "copy" : "";
      if (!*kind) continue;
      const std::string where = path_join(path_join(fp, rel), kind);
      if (!v[kind].is_string()) {
        errors.add(where, "must be a path (relative to the scenario's directory)");
        continue;
      }
      const std::filesystem::path src =
          std::filesystem::path(base_dir) / v[kind].get<std::string>();
      if (std::string(kind) == "copy") {  // copied as it is at start: any size, any bytes
        std::error_code ec;
        if (!std::filesystem::is_regular_file(src, ec))
          errors.add(where, fmt::format("{}: not found, or not a regular file", src.string()));
        else
          v = json{{"copy", std::filesystem::absolute(src).lexically_normal().string()}};
        continue;
      }
      try {
        // A template becomes its text: its placeholders are then substituted with the scenario's.
        v = read_text_file(src.string(), kMaxBytes);
      } catch (const ConfigError& e) {
        errors.add(where, e.what());
      }
    }
  }
  return doc;
}

void parse_processes(const json& arr, const std::string& path, Scenario& s, ConfigErrors& errors) {
  if (!arr.is_array()) {
    errors.add(path, "must be an array of processes");
    return;
  }
  std::set<std::string> names;
  for (const auto& p : s.proxies)
    names.insert(p.name);
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = path_index(path, i);
    const json& o = arr[i];
    if (!o.is_object()) {
      errors.add(p, "must be an object");
      continue;
    }
    reject_unknown_keys(o, p,
                        {"name", "command", "env", "cwd", "files", "user", "group", "ready",
                         "metrics", "stop", "after"},
                        errors);
    ProcessSpec ps;
    if (auto n = get_string(o, p, "name", errors, true)) {
      if (!valid_name(*n))
        errors.add(path_join(p, "name"), "must be 1-64 characters of [A-Za-z0-9_.-]");
      else if (auto why = ComponentId::reserved_name_reason(*n); !why.empty())
        errors.add(path_join(p, "name"), why);
      else if (!names.insert(*n).second)
        errors.add(path_join(p, "name"),
                   fmt::format("duplicate name \"{}\" (process and proxy names share one "
                               "namespace)",
                               *n));
      ps.name = *n;
    }
    ps.command = get_string_list(o, p, "command", errors);
    if (!o.contains("command"))
      errors.add(path_join(p, "command"), "required field is missing");
    else if (ps.command.empty() && o["command"].is_array())
      errors.add(path_join(p, "command"), "must name a program: [\"program\", \"arg\", ...]");
    ps.env = string_map(o, p, "env", errors);
    ps.cwd = get_string(o, p, "cwd", errors).value_or("");
    parse_files(o, p, ps, errors);
    parse_account(o, p, ps, errors);
    parse_ready(o, p, ps, errors);
    if (auto m = get_string(o, p, "metrics", errors)) {
      if (auto u = parse_http_url(*m)) {
        ps.metrics_address = u->address;
        ps.metrics_path = u->path;
      } else
        errors.add(
            path_join(p, "metrics"),
            fmt::format("must be a URL like \"http://127.0.0.1:9100/metrics\", got \"{}\"", *m));
      ps.metrics = *m;
    }
    parse_stop(o, p, ps, errors);
    ps.after = get_string_list(o, p, "after", errors);
    s.processes.push_back(std::move(ps));
  }
}

void compute_start_order(Scenario& s, const std::map<std::string, std::string>& after_paths,
                         ConfigErrors& errors) {
  // Nodes in their default order: proxies not in front of the target, the target, the rest of
  // the proxies, the processes.
  struct Node {
    StartItem item;
    std::vector<std::string> after;
    std::string path;  // of its `after`
  };
  std::vector<Node> nodes;
  // Built member by member: brace-initialising Node trips GCC 12's -Wmaybe-uninitialized.
  auto add = [&](StartItem::Kind kind, const std::string& name, std::vector<std::string> after) {
    Node n;
    n.item.kind = kind;
    n.item.name = name;
    n.after = std::move(after);
    nodes.push_back(std::move(n));
  };
  auto key = [](const StartItem& it) {
    return it.kind == StartItem::Kind::target ? std::string("target") : it.name;
  };
  for (const auto& p : s.proxies) {
    std::vector<std::string> after = p.after;
    if (p.upstream_kind == ProxySpec::Upstream::target) after.push_back("target");
    add(StartItem::Kind::proxy, p.name, std::move(after));
  }
  if (s.target.enabled) {
    std::vector<std::string> after = s.target.after;
    if (s.target.store == "redis")
      for (const auto& p : s.proxies)
        if (p.upstream_kind == ProxySpec::Upstream::redis_shard) after.push_back(p.name);
    add(StartItem::Kind::target, "target", std::move(after));
  }
  for (const auto& p : s.processes)
    add(StartItem::Kind::process, p.name, p.after);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].path = after_paths.count(key(nodes[i].item)) ? after_paths.at(key(nodes[i].item)) : "";
    index[key(nodes[i].item)] = i;
  }
  bool ok = true;
  for (auto& n : nodes)
    for (const auto& a : n.after)
      if (!index.count(a)) {
        errors.add(
            n.path.empty() ? "$.services" : n.path,
            fmt::format("\"{}\" is not a process, a proxy or the target of this scenario", a));
        ok = false;
      }
  if (!ok) return;
  // Kahn's algorithm, always taking the first ready node in the default order.
  std::vector<bool> done(nodes.size(), false);
  for (std::size_t round = 0; round < nodes.size(); ++round) {
    std::optional<std::size_t> pick;
    for (std::size_t i = 0; i < nodes.size() && !pick; ++i) {
      if (done[i]) continue;
      if (std::all_of(nodes[i].after.begin(), nodes[i].after.end(),
                      [&](const std::string& a) { return done[index.at(a)]; }))
        pick = i;
    }
    if (!pick) {
      // Every node left waits on another one left: follow the first edge to show a cycle.
      std::size_t at = 0;
      while (done[at])
        ++at;
      // Every node left has a dependency left: walking them must repeat a node.
      std::vector<std::size_t> walk;
      while (std::find(walk.begin(), walk.end(), at) == walk.end()) {
        walk.push_back(at);
        for (const auto& a : nodes[at].after)
          if (!done[index.at(a)]) {
            at = index.at(a);
            break;
          }
      }
      std::string cycle;
      for (auto it = std::find(walk.begin(), walk.end(), at); it != walk.end(); ++it)
        cycle += key(nodes[*it].item) + " -> ";
      cycle += key(nodes[at].item);
      errors.add(nodes[at].path.empty() ? "$.services" : nodes[at].path,
                 fmt::format("start order has a cycle: {} (implicit edges: a proxy with "
                             "upstream \"target\" starts after the target; a target on Redis "
                             "after the proxies in front of its shards)",
                             cycle));
      return;
    }
    done[*pick] = true;
    s.start_order.push_back(nodes[*pick].item);
  }
}

}  // namespace faultline::runner::scenario_detail
