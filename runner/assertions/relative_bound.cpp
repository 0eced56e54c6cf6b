// Bounds relative to another phase (see relative_bound.hpp): a small tokenizer and grammar, and
// the derivation a message shows.
#include "runner/assertions/relative_bound.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <vector>

#include <fmt/format.h>

#include "runner/assertions/assertion.hpp"

namespace faultline::runner {

namespace {

constexpr const char* kForm =
    "a duration (\"50ms\") or relative to a phase: \"PHASE.STAT\", "
    "\"PHASE.STAT * K\" or \"K * PHASE.STAT\", optionally \"+ 20ms\"";

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// Words ([A-Za-z0-9_.-]+) and the operators * and +; nullopt at any other character.
std::optional<std::vector<std::string>> tokens(const std::string& s, std::string& error) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == ' ' || c == '\t') {
      ++i;
    } else if (c == '*' || c == '+') {
      out.emplace_back(1, c);
      ++i;
    } else if (word_char(c)) {
      std::size_t j = i;
      while (j < s.size() && word_char(s[j]))
        ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    } else {
      error = fmt::format("unexpected \"{}\" (only * and + are operators)", c);
      return std::nullopt;
    }
  }
  return out;
}

bool is_number(const std::string& w) {
  static const std::regex re("[0-9]+(\\.[0-9]+)?");
  return std::regex_match(w, re);
}

std::string join(std::initializer_list<std::string_view> stats) {
  std::string out;
  for (auto s : stats) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

std::optional<SecondsBound> get_seconds_bound(const json& obj, const std::string& path,
                                              const char* key,
                                              std::initializer_list<std::string_view> stats,
                                              const std::string& own_phase, ConfigErrors& errors) {
  auto it = obj.find(key);
  // Not a relative expression: a duration, with get_seconds's own errors.
  if (it == obj.end() || !it->is_string() || parse_duration(it->get<std::string>())) {
    auto s = get_seconds(obj, path, key, errors);
    if (!s) return std::nullopt;
    SecondsBound b;
    b.seconds = *s;
    return b;
  }
  const std::string at = path_join(path, key);
  std::string text = it->get<std::string>();
  text.erase(0, text.find_first_not_of(" \t"));
  text.erase(text.find_last_not_of(" \t") + 1);
  auto fail = [&](const std::string& why) -> std::optional<SecondsBound> {
    errors.add(at, fmt::format("\"{}\": {} (must be {})", text, why, kForm));
    return std::nullopt;
  };
  std::string terror;
  auto toks = tokens(text, terror);
  if (!toks) return fail(terror);
  SecondsBound b;
  b.text = text;
  auto& t = *toks;
  // The "+ D" tail.
  if (auto plus = std::find(t.begin(), t.end(), "+"); plus != t.end()) {
    if (plus + 2 != t.end()) return fail("\"+\" is followed by one duration and ends the bound");
    const std::string& d = *(plus + 1);
    if (is_number(d)) return fail(fmt::format("\"{}\" needs a unit: {}ms or {}s", d, d, d));
    static const std::regex dur("([0-9]+(\\.[0-9]+)?)(ms|s)");
    std::smatch m;
    if (!std::regex_match(d, m, dur))
      return fail(fmt::format("\"{}\" is not a duration in ms or s", d));
    b.seconds = std::stod(m[1].str()) * (m[3] == "ms" ? 1e-3 : 1.0);
    t.erase(plus, t.end());
  }
  // The product: REF, REF * K or K * REF.
  std::string ref;
  if (t.size() == 1) {
    ref = t[0];
  } else if (t.size() == 3 && t[1] == "*") {
    const bool first_number = is_number(t[0]);
    const std::string& k = first_number ? t[0] : t[2];
    ref = first_number ? t[2] : t[0];
    if (!is_number(k)) return fail(fmt::format("\"{}\" is not a number to multiply by", k));
    b.factor = std::stod(k);
    if (!(b.factor > 0) || !std::isfinite(b.factor))
      return fail(fmt::format("the factor must be above 0, got {}", k));
  } else {
    return fail("not of that form");
  }
  const auto dot = ref.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == ref.size())
    return fail(fmt::format("\"{}\" is not PHASE.STAT", ref));
  b.phase = ref.substr(0, dot);
  b.stat = ref.substr(dot + 1);
  if (std::find(stats.begin(), stats.end(), b.stat) == stats.end())
    return fail(
        fmt::format("\"{}\" is not a measurement this bound can use ({})", b.stat, join(stats)));
  if (b.phase == own_phase)
    return fail(
        fmt::format("phase \"{}\" is the assertion's own: name another phase (e.g. the "
                    "baseline)",
                    b.phase));
  return b;
}

std::string ResolvedBound::derivation_with_value() const {
  if (!seconds || !arithmetic) return derivation;
  return fmt::format("{} = {}", derivation, fmt_seconds(*seconds));
}

ResolvedBound resolve_bound(
    const SecondsBound& b,
    const std::function<std::optional<double>(const std::string&, const std::string&)>& reference) {
  ResolvedBound r;
  if (!b.relative()) {
    r.seconds = b.seconds;
    r.derivation = fmt_seconds(b.seconds);
    return r;
  }
  const std::optional<double> ref = reference(b.phase, b.stat);
  std::string d = b.factor == 1 ? "" : fmt::format("{} × ", fmt_ratio(b.factor));
  d += fmt::format("{} {}", b.phase, b.stat);
  // fmt::format, not "x" + std::string: GCC 12 -Wrestrict false positive (PR105651).
  if (ref) d += fmt::format(" {}", fmt_seconds(*ref));
  if (b.seconds > 0) d += fmt::format(" + {}", fmt_seconds(b.seconds));
  r.derivation = d;
  r.arithmetic = b.factor != 1 || b.seconds > 0;
  if (!ref) {
    r.missing = fmt::format("no {} measured in phase {}", b.stat, b.phase);
    return r;
  }
  r.seconds = *ref * b.factor + b.seconds;
  return r;
}

std::string bound_text(const SecondsBound& b, const ResolvedBound& r) {
  if (!b.relative()) return fmt_seconds(b.seconds);
  if (!r.seconds) return b.text;
  return fmt::format("{} ({})", b.text, fmt_seconds(*r.seconds));
}

}  // namespace faultline::runner
