// The phase placeholders of promql queries (see promql_phases.hpp): one scanner that finds them,
// used to check a query and to expand it.
#include "runner/scenario/promql_phases.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>

#include <fmt/format.h>

namespace faultline::runner {

namespace {

constexpr const char* kForms =
    "[phase], [phase:RES], [phases.NAME], [phases.NAME:RES], ${phase.duration}, "
    "${phases.NAME.duration}; RES is a PromQL duration such as 1s, or empty";

// One placeholder found in a query.
struct Token {
  std::size_t begin = 0, end = 0;  // [begin, end) in the query
  bool window = false;             // [...] (else ${...duration})
  std::string phase;               // "" for the assertion's own phase
  std::optional<std::string> resolution;
};

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

bool valid_phase_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), name_char) && s != "." &&
         s != "..";
}

bool promql_duration(const std::string& s) {
  static const std::regex re("([0-9]+(ms|s|m|h|d|w|y))+");
  return std::regex_match(s, re);
}

// Calls on_token for each placeholder in order; returns "" or the first problem.
template <typename F>
std::string scan(const std::string& q, F&& on_token) {
  std::size_t i = 0;
  while (i < q.size()) {
    if (q.compare(i, 6, "[phase") == 0) {
      const std::size_t close = q.find(']', i);
      const std::string text = q.substr(i, close == std::string::npos ? 24 : close + 1 - i);
      auto bad = [&](const std::string& why) {
        return fmt::format("\"{}\": {} (known: {})", text, why, kForms);
      };
      if (close == std::string::npos) return bad("unterminated phase window");
      Token t{i, close + 1, true, "", std::nullopt};
      std::string inner = q.substr(i + 6, close - i - 6);  // after "[phase"
      if (inner.rfind("s.", 0) == 0) {
        inner.erase(0, 2);
        const std::size_t colon = inner.find(':');
        t.phase = inner.substr(0, colon);
        if (!valid_phase_name(t.phase)) return bad("a phase name is 1-64 of [A-Za-z0-9_.-]");
        inner = colon == std::string::npos ? "" : inner.substr(colon);
      }
      if (!inner.empty()) {
        if (inner[0] != ':') return bad("unknown phase window");
        t.resolution = inner.substr(1);
        if (!t.resolution->empty() && !promql_duration(*t.resolution))
          return bad(fmt::format("the subquery resolution \"{}\" is not a PromQL duration",
                                 *t.resolution));
      }
      on_token(t);
      i = close + 1;
    } else if (q.compare(i, 7, "${phase") == 0) {
      const std::size_t close = q.find('}', i);
      if (close == std::string::npos)
        return fmt::format("\"{}\": unterminated placeholder (known: {})", q.substr(i, 24), kForms);
      const std::string name = q.substr(i + 2, close - i - 2);
      Token t{i, close + 1, false, "", std::nullopt};
      const std::string suffix = ".duration";
      const bool other = name.rfind("phases.", 0) == 0 && name.size() > 7 + suffix.size() &&
                         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
      if (other) {
        t.phase = name.substr(7, name.size() - 7 - suffix.size());
        if (!valid_phase_name(t.phase))
          return fmt::format("\"${{{}}}\": a phase name is 1-64 of [A-Za-z0-9_.-] (known: {})",
                             name, kForms);
      } else if (name != "phase.duration") {
        return fmt::format("\"${{{}}}\": unknown phase placeholder (known: {})", name, kForms);
      }
      on_token(t);
      i = close + 1;
    } else {
      ++i;
    }
  }
  return "";
}

std::string millis(double seconds) {
  return fmt::format("{}ms", std::max(1LL, std::llround(seconds * 1000)));
}

}  // namespace

std::string check_promql_phases(const std::string& query, std::vector<std::string>* phases) {
  return scan(query, [&](const Token& t) {
    if (phases && !t.phase.empty() &&
        std::find(phases->begin(), phases->end(), t.phase) == phases->end())
      phases->push_back(t.phase);
  });
}

std::string expand_promql_phases(
    const std::string& query, const PromqlPhaseWindow& own,
    const std::function<std::optional<PromqlPhaseWindow>(const std::string&)>& other,
    std::string* error) {
  std::string out;
  std::size_t pos = 0;
  scan(query, [&](const Token& t) {
    out.append(query, pos, t.begin - pos);
    pos = t.end;
    std::optional<PromqlPhaseWindow> w = own;
    if (!t.phase.empty()) w = other(t.phase);
    if (!w) {
      if (error && error->empty())
        *error = fmt::format("\"{}\": phase {} had not ended when the query was evaluated",
                             query.substr(t.begin, t.end - t.begin), t.phase);
      out.append(query, t.begin, t.end - t.begin);
      return;
    }
    if (!t.window) {
      out += millis(w->duration_seconds);
      return;
    }
    out += fmt::format("[{}", millis(w->duration_seconds));
    if (t.resolution) out += fmt::format(":{}", *t.resolution);
    out += "]";
    if (const long long off = std::llround(w->offset_seconds * 1000); off >= 1)
      out += fmt::format(" offset {}ms", off);
  });
  out.append(query, pos, std::string::npos);
  return out;
}

std::string expand_promql_phases_for_check(const std::string& query) {
  return expand_promql_phases(query, {1, 0}, [](const std::string&) {
    return std::optional<PromqlPhaseWindow>(PromqlPhaseWindow{1, 1});
  });
}

std::optional<std::string> expand_promql_phases_for_run(const std::string& query,
                                                        const std::string& phase,
                                                        const std::vector<PhaseSpan>& spans,
                                                        double* at_seconds, std::string& error) {
  std::optional<PromqlPhaseWindow> own;
  double at = 0;
  if (phase == "*") {
    if (!spans.empty()) {
      at = spans.back().end;
      own = PromqlPhaseWindow{at, 0};
    }
  } else {
    for (const auto& s : spans)
      if (s.name == phase) {
        at = s.end;
        own = PromqlPhaseWindow{s.end - s.start, 0};
        break;
      }
  }
  if (!own) {
    error = "the phase did not run";
    return std::nullopt;
  }
  if (at_seconds) *at_seconds = at;
  auto other = [&](const std::string& name) -> std::optional<PromqlPhaseWindow> {
    std::optional<PromqlPhaseWindow> w;
    // Its last occurrence that ended by the evaluation (1 ms of slack for rounding).
    for (const auto& s : spans)
      if (s.name == name && s.end <= at + 1e-3)
        w = PromqlPhaseWindow{s.end - s.start, std::max(0.0, at - s.end)};
    return w;
  };
  std::string why;
  std::string out = expand_promql_phases(query, *own, other, &why);
  if (!why.empty()) {
    error = why;
    return std::nullopt;
  }
  return out;
}

}  // namespace faultline::runner
