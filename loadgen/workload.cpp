// Workload files: templates, the weighted pick, and parse_workload (requests, flows and generator
// entries, every error with its JSON path); see workload.hpp.
#include "loadgen/workload.hpp"

#include <algorithm>
#include <charconv>

#include "loadgen/exchange.hpp"
#include "loadgen/generator.hpp"

namespace faultline::loadgen {

Template::Template(std::string literal) {
  if (!literal.empty()) parts_.push_back(Part{Kind::literal, std::move(literal)});
}

Template Template::parse(std::string_view text, std::string_view path,
                         const std::vector<std::string>& known_vars, ConfigErrors& errors) {
  Template t;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) t.parts_.push_back(Part{Kind::literal, std::move(lit)});
    lit.clear();
  };
  auto number = [](std::string_view s, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
  };
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "${") != 0) {
      lit += text[i++];
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) {
      errors.add(std::string(path), "unterminated \"${\"");
      return t;
    }
    std::string_view expr = text.substr(i + 2, close - i - 2);
    i = close + 1;
    flush();
    if (expr == "seq") {
      t.parts_.push_back(Part{Kind::seq, {}});
    } else if (expr.rfind("rand_hex:", 0) == 0) {
      std::uint64_t n = 0;
      if (!number(expr.substr(9), n) || n == 0 || n > 1'000'000)
        errors.add(std::string(path), "${rand_hex:N} needs N in 1..1000000");
      t.parts_.push_back(Part{Kind::rand_hex, {}, n});
    } else if (expr.rfind("rand_int:", 0) == 0) {
      auto rest = expr.substr(9);
      auto colon = rest.find(':');
      std::uint64_t a = 0, b = 0;
      if (colon == std::string_view::npos || !number(rest.substr(0, colon), a) ||
          !number(rest.substr(colon + 1), b) || a > b)
        errors.add(std::string(path), "${rand_int:MIN:MAX} needs 0 <= MIN <= MAX");
      t.parts_.push_back(Part{Kind::rand_int, {}, a, b});
    } else {
      if (std::find(known_vars.begin(), known_vars.end(), expr) == known_vars.end())
        errors.add(std::string(path), "unknown variable \"${" + std::string(expr) +
                                          "}\" (not captured by an earlier step; built-ins: seq, "
                                          "rand_hex:N, rand_int:MIN:MAX)");
      t.parts_.push_back(Part{Kind::var, std::string(expr)});
    }
  }
  flush();
  return t;
}

void append_to_target(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("\"#<>\\^`{|}").find(ch) != std::string_view::npos) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
}

bool header_value_ok(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool Template::render(std::string& out, const Vars& vars, Rng& rng, std::uint64_t seq,
                      Slot slot) const {
  for (const auto& p : parts_) {
    switch (p.kind) {
      case Kind::literal:
        out += p.text;
        break;
      case Kind::seq:
        out += std::to_string(seq);
        break;
      case Kind::rand_hex:
        out += random_hex(rng, p.a);
        break;
      case Kind::rand_int:
        out += std::to_string(std::uniform_int_distribution<std::uint64_t>(p.a, p.b)(rng));
        break;
      case Kind::var:
        for (const auto& [k, v] : vars)
          if (k == p.text) {
            if (slot == Slot::target)
              append_to_target(out, v);
            else if (slot == Slot::header && !header_value_ok(v))
              return false;
            else
              out += v;
            break;
          }
        break;
    }
  }
  return true;
}

std::string random_hex(Rng& rng, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(n, '0');
  for (auto& c : s)
    c = kHex[rng() & 15];
  return s;
}

std::string random_text(Rng& rng, std::size_t n) {
  static constexpr char kChars[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-\n";
  constexpr std::size_t kLen = sizeof(kChars) - 1;
  std::string s(n, ' ');
  std::uint64_t bits = 0;
  int left = 0;
  for (auto& c : s) {
    if (left == 0) {
      bits = rng();
      left = 8;
    }
    c = kChars[(bits & 0xff) % kLen];
    bits >>= 8;
    --left;
  }
  return s;
}

std::size_t Workload::add_name(std::string name) {
  auto it = std::find(request_names.begin(), request_names.end(), name);
  if (it != request_names.end()) return static_cast<std::size_t>(it - request_names.begin());
  request_names.push_back(std::move(name));
  return request_names.size() - 1;
}

void Workload::finish() {
  cumulative.clear();
  double sum = 0;
  for (const auto& e : entries)
    cumulative.push_back(sum += e.weight);
}

std::size_t Workload::pick(Rng& rng) const {
  if (entries.size() <= 1) return 0;
  const double u = std::uniform_real_distribution<double>(0, cumulative.back())(rng);
  auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
  return std::min(static_cast<std::size_t>(it - cumulative.begin()), entries.size() - 1);
}

namespace {

bool valid_method(const std::string& m) {
  if (m.empty()) return false;
  return std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool valid_header_name(std::string_view n) {
  if (n.empty()) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// Reads a request-shaped object (method, url, headers, body, capture) into `step`.
void parse_step(const json& obj, const std::string& path, StepSpec& step,
                std::vector<std::string>& vars, bool allow_capture,
                std::vector<std::string>& check_names, ConfigErrors& errors) {
  if (auto it = obj.find("checks"); it != obj.end())
    step.checks = parse_checks(*it, path_join(path, "checks"), check_names, errors);
  if (auto m = get_string(obj, path, "method", errors)) {
    if (!valid_method(*m))
      errors.add(path_join(path, "method"), "must be an upper-case HTTP method");
    step.method = *m;
  }
  if (auto u = get_string(obj, path, "url", errors, true)) {
    if (u->empty() || (u->front() != '/' && u->rfind("${", 0) != 0))
      errors.add(path_join(path, "url"),
                 "must be a path starting with '/' or a captured variable such as ${url} (the "
                 "host comes from the URL argument)");
    else if (std::any_of(u->begin(), u->end(),
                         [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
      errors.add(path_join(path, "url"),
                 "must not contain spaces or control characters (percent-encode them: %20)");
    step.url = Template::parse(*u, path_join(path, "url"), vars, errors);
  }
  if (auto it = obj.find("headers"); it != obj.end()) {
    const auto hpath = path_join(path, "headers");
    if (!it->is_object()) {
      errors.add(hpath, "must be an object of header: value");
    } else {
      for (const auto& [k, v] : it->items()) {
        if (!valid_header_name(k)) errors.add(path_join(hpath, k), "invalid header name");
        if (!v.is_string()) {
          errors.add(path_join(hpath, k), "must be a string");
          continue;
        }
        if (!header_value_ok(v.get<std::string>()))
          errors.add(path_join(hpath, k), "must not contain CR, LF or NUL");
        std::string lower = k;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower == "host" || lower == "content-length" || lower == "transfer-encoding")
          errors.add(path_join(hpath, k), "is set by faultline load");
        step.headers.emplace_back(
            k, Template::parse(v.get<std::string>(), path_join(hpath, k), vars, errors));
      }
    }
  }
  if (auto it = obj.find("body"); it != obj.end()) {
    if (it->is_string())
      step.body = Template::parse(it->get<std::string>(), path_join(path, "body"), vars, errors);
    else if (it->is_object() || it->is_array())
      step.body = Template::parse(it->dump(), path_join(path, "body"), vars, errors);
    else
      errors.add(path_join(path, "body"), "must be a string or a JSON value");
  }
  if (auto it = obj.find("capture"); it != obj.end()) {
    const auto cpath = path_join(path, "capture");
    if (!allow_capture) {
      errors.add(cpath, "captures are only used in flows");
    } else if (!it->is_object()) {
      errors.add(cpath,
                 "must be an object {\"var\": {\"json\": \"/pointer\"} | {\"header\": "
                 "\"Name\"}}");
    } else {
      for (const auto& [var, how] : it->items()) {
        const auto vpath = path_join(cpath, var);
        Capture c;
        c.var = var;
        if (!how.is_object() || how.size() != 1 ||
            (!how.contains("json") && !how.contains("header")) || !how.begin()->is_string()) {
          errors.add(vpath, "must be {\"json\": \"/pointer\"} or {\"header\": \"Name\"}");
          continue;
        }
        c.from_header = how.contains("header");
        c.where = how.begin()->get<std::string>();
        if (!c.from_header) {
          try {
            (void)json::json_pointer(c.where);
          } catch (const json::exception&) {
            errors.add(path_join(vpath, "json"), "invalid JSON pointer \"" + c.where + "\"");
          }
        }
        step.captures.push_back(c);
        vars.push_back(var);
      }
    }
  }
}

}  // namespace

Workload parse_workload(const json& doc, ConfigErrors& errors) {
  return parse_workload(doc, builtin_generators(), errors);
}

Workload load_workload_file(const std::string& file, ConfigErrors& errors) {
  json doc;
  try {
    doc = load_json_file(file);
  } catch (const ConfigError& e) {
    errors.add("$", e.what());
    return Workload{};
  }
  return parse_workload(doc, errors);
}

Workload parse_workload(const json& doc, const GeneratorRegistry& registry, ConfigErrors& errors) {
  Workload w;
  if (!doc.is_object()) {
    errors.add("$", "a workload must be a JSON object with a \"mix\" array");
    return w;
  }
  reject_unknown_keys(doc, "$", {"mix", "description"}, errors);
  auto mix = doc.find("mix");
  if (mix == doc.end() || !mix->is_array() || mix->empty()) {
    errors.add("$.mix", "required: a non-empty array of requests, flows and generators");
    return w;
  }
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < mix->size(); ++i) {
    const json& e = (*mix)[i];
    const auto path = path_index("$.mix", i);
    if (!e.is_object()) {
      errors.add(path, "must be an object");
      continue;
    }
    Entry entry;
    auto name = get_string(e, path, "name", errors, true);
    if (!name) continue;
    if (name->empty() || name->find_first_of(":\" ") != std::string::npos)
      errors.add(path_join(path, "name"), "must be non-empty without spaces, quotes or ':'");
    if (std::find(seen.begin(), seen.end(), *name) != seen.end())
      errors.add(path_join(path, "name"), "duplicate name \"" + *name + "\"");
    seen.push_back(*name);
    entry.name = *name;
    if (auto wgt = get_number(e, path, "weight", errors)) {
      if (!(*wgt > 0)) errors.add(path_join(path, "weight"), "must be > 0");
      entry.weight = *wgt;
    }
    const bool is_flow = e.contains("flow");
    const bool is_gen = e.contains("generator");
    const int kinds =
        int{is_flow} + int{is_gen} + int{e.contains("websocket")} + int{e.contains("sse")};
    if (kinds > 1) {
      errors.add(path,
                 "has more than one of \"flow\", \"generator\", \"websocket\" and \"sse\"; "
                 "pick one");
      continue;
    }
    if (e.contains("websocket") || e.contains("sse")) {
      parse_session_entry(e, path, entry, w, errors);
    } else if (is_gen) {
      auto kind = get_string(e, path, "generator", errors, true);
      if (!kind) continue;
      const GeneratorType* type = registry.find(*kind);
      if (!type) {
        std::string known;
        for (const auto& n : registry.names())
          known += (known.empty() ? "" : ", ") + n;
        errors.add(path_join(path, "generator"),
                   "unknown generator \"" + *kind + "\"; known generators: " + known);
        continue;
      }
      entry.generator = type->make(e, path, *name, w, errors);
    } else if (is_flow) {
      reject_unknown_keys(e, path, {"name", "weight", "flow"}, errors);
      const json& flow = e["flow"];
      const auto fpath = path_join(path, "flow");
      if (!flow.is_array() || flow.empty()) {
        errors.add(fpath, "must be a non-empty array of steps");
        continue;
      }
      std::vector<std::string> vars;
      for (std::size_t s = 0; s < flow.size(); ++s) {
        const auto spath = path_index(fpath, s);
        if (!flow[s].is_object()) {
          errors.add(spath, "must be an object");
          continue;
        }
        reject_unknown_keys(flow[s], spath,
                            {"name", "method", "url", "headers", "body", "capture", "checks"},
                            errors);
        StepSpec step;
        std::string sname = *name + "." + std::to_string(s);
        if (auto sn = get_string(flow[s], spath, "name", errors)) sname = *name + "." + *sn;
        step.name_index = w.add_name(sname);
        parse_step(flow[s], spath, step, vars, true, w.check_names, errors);
        entry.steps.push_back(std::move(step));
      }
    } else {
      reject_unknown_keys(e, path, {"name", "weight", "method", "url", "headers", "body", "checks"},
                          errors);
      StepSpec step;
      step.name_index = w.add_name(*name);
      std::vector<std::string> vars;
      parse_step(e, path, step, vars, false, w.check_names, errors);
      entry.steps.push_back(std::move(step));
    }
    w.entries.push_back(std::move(entry));
  }
  w.finish();
  return w;
}

Workload single_request_workload(const std::string& method, const std::string& target,
                                 const std::string& body) {
  Workload w;
  Entry e;
  e.name = "default";
  StepSpec step;
  step.name_index = w.add_name("default");
  step.method = method;
  step.url = Template(target);
  step.body = Template(body);
  e.steps.push_back(std::move(step));
  w.entries.push_back(std::move(e));
  w.finish();
  return w;
}

bool render_request(std::string& out, const StepSpec& step, const std::string& host_header,
                    const Vars& vars, Rng& rng, std::uint64_t seq) {
  out.clear();
  out += step.method;
  out += ' ';
  step.url.render(out, vars, rng, seq, Slot::target);
  out += " HTTP/1.1\r\nHost: ";
  out += host_header;
  out += "\r\nUser-Agent: faultline-load\r\n";
  for (const auto& [k, v] : step.headers) {
    out += k;
    out += ": ";
    if (!v.render(out, vars, rng, seq, Slot::header)) {
      out.clear();
      return false;
    }
    out += "\r\n";
  }
  std::string body;
  step.body.render(body, vars, rng, seq, Slot::body);
  if (!body.empty() || (step.method != "GET" && step.method != "HEAD" && step.method != "DELETE")) {
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += body;
  return true;
}

void prerender(Workload& w, const std::string& host_header) {
  for (auto& e : w.entries)
    for (auto& s : e.steps) {
      bool all_static = s.url.is_static() && s.body.is_static();
      for (const auto& h : s.headers)
        all_static = all_static && h.second.is_static();
      if (!all_static) continue;
      Rng unused;
      render_request(s.prerendered, s, host_header, {}, unused, 0);
    }
}

}  // namespace faultline::loadgen
