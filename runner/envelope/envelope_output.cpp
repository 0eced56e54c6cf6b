// What `faultline envelope` writes: envelope.json (every trial and the boundary per load level),
// the terminal summary (one line per level and one sentence), and report.html — one
// self-contained page drawn by envelope.js with the uPlot that `faultline run`'s report inlines.
#include "runner/envelope/envelope_output.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/version.hpp"
#include "runner/envelope/envelope_assets.hpp"
#include "runner/envelope/envelope_trial.hpp"
#include "runner/report/format.hpp"
#include "runner/report/report_assets.hpp"

namespace faultline::runner::envelope {

namespace rf = report_format;

namespace {

json opt(std::optional<double> v) {
  return v ? json(*v) : json(nullptr);
}

std::string with_unit(double v, const FaultAxis& f) {
  return format_value(v, false) + (f.unit.empty() ? "" : " " + f.unit);
}

// A fault value rounded for people: 3 significant digits.
double human(double v) {
  if (v == 0) return 0;
  const double scale = std::pow(10.0, 2 - std::floor(std::log10(std::abs(v))));
  return std::round(v * scale) / scale;
}

// "p99 <= 100 ms and error ratio ..." from the bounds the trials reported.
std::string slo_text(const SearchResult& r, const Plan& plan) {
  std::vector<std::string> parts;
  for (const auto& b : plan.slo) {
    std::string text = b.name;
    for (const auto& t : r.trials)
      for (const auto& v : t.record.value("verdicts", json::array()))
        if (v.value("name", std::string()) == b.name && !v.value("bound", std::string()).empty()) {
          // "p99 <= 100ms" names its figure; "<= 0.05" (error_ratio) gets its kind in front.
          text = v.value("bound", std::string());
          std::string kind = v.value("kind", std::string());
          std::replace(kind.begin(), kind.end(), '_', ' ');
          if (!kind.empty() && (text[0] == '<' || text[0] == '>')) text = kind + " " + text;
        }
    if (std::find(parts.begin(), parts.end(), text) == parts.end()) parts.push_back(text);
  }
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  return out;
}

}  // namespace

json envelope_to_json(const SearchResult& r, const Plan& plan, const std::string& command) {
  const FaultAxis& f = plan.fault;
  json j;
  j["faultline_version"] = kVersion;
  j["scenario"] = {{"name", plan.scenario_name}, {"file", plan.scenario_file}};
  j["command"] = command;
  j["load"] = {
      {"from", number_json(plan.load.from)}, {"to", number_json(plan.load.to)}, {"unit", "req/s"}};
  j["fault"] = {{"proxy", f.proxy},
                {"toxic", f.toxic},
                {"attribute", f.attribute},
                {"from", number_json(f.range.from)},
                {"to", number_json(f.range.to)},
                {"unit", f.unit.empty() ? json(nullptr) : json(f.unit)},
                {"integer", f.integer},
                {"set_keys", f.set_keys},
                {"resolution", number_json(plan.resolution)}};
  json slo = json::array();
  for (const auto& b : plan.slo)
    slo.push_back({{"name", b.name},
                   {"max", opt(b.max)},
                   {"min", opt(b.min)},
                   {"relative_max", b.relative_max}});
  j["slo"] = slo;
  j["slo_text"] = slo_text(r, plan);
  j["trial_duration_seconds"] = opt(plan.trial_seconds);
  j["repeats"] = plan.repeats;
  j["budget_seconds"] = plan.budget_seconds;
  j["spent_seconds"] = r.spent_seconds;
  j["budget_exhausted"] = r.budget_exhausted;
  j["interrupted"] = r.interrupted;
  json trials = json::array();
  for (const auto& t : r.trials) {
    json e = {{"id", t.id}};
    e.update(t.record);
    trials.push_back(std::move(e));
  }
  j["trials"] = trials;
  json boundary = json::array();
  for (const auto& l : r.levels) {
    json b = {
        {"load", number_json(l.load)},
        {"fault", opt(l.fault)},
        {"band", l.band ? json::array({number_json(l.band->first), number_json(l.band->second)})
                        : json(nullptr)},
        {"holds", l.holds},
        {"trials", l.trials},
        {"complete", l.complete},
        {"non_monotone_trials", l.non_monotone}};
    boundary.push_back(std::move(b));
  }
  j["boundary"] = boundary;
  json rising = json::array();
  for (const auto& [a, b] : r.rising)
    rising.push_back(json::array({number_json(a), number_json(b)}));
  j["boundary_rises_with_load"] = rising;
  j["summary"] = summary_sentence(r, plan);
  return j;
}

std::string summary_sentence(const SearchResult& r, const Plan& plan) {
  const FaultAxis& f = plan.fault;
  const std::string slo = slo_text(r, plan);
  std::vector<std::string> parts;
  const auto& ls = r.levels;
  // Trailing levels that hold nothing are said once: "from R req/s it holds none".
  std::size_t end = ls.size();
  while (end > 0 && ls[end - 1].holds == "none")
    --end;
  bool said_up_to = false;  // the SLO and the fault are named once, at the first "up to"
  for (std::size_t i = 0; i < end; ++i) {
    const Level& l = ls[i];
    const std::string at = fmt::format("at {} req/s", format_value(l.load, plan.integer_load));
    if (l.holds == "whole_range")
      parts.push_back(fmt::format("{} the service holds {} over the whole range of {} (up to {})",
                                  at, slo, f.label(), with_unit(f.range.to, f)));
    else if (l.holds == "none")
      parts.push_back(fmt::format("{} it holds none", at));
    else if (!said_up_to)
      parts.push_back(fmt::format("{} the service holds {} up to {} ± {} of {}{}", at, slo,
                                  with_unit(human(*l.fault), f),
                                  with_unit(human((l.band->second - l.band->first) / 2), f),
                                  f.label(), l.complete ? "" : " (search cut short)"));
    else
      parts.push_back(fmt::format("{} up to {} ± {}{}", at, with_unit(human(*l.fault), f),
                                  with_unit(human((l.band->second - l.band->first) / 2), f),
                                  l.complete ? "" : " (search cut short)"));
    said_up_to = said_up_to || l.holds == "up_to";
  }
  if (end < ls.size())
    parts.push_back(fmt::format("{} {} req/s it holds none", end == 0 ? "at" : "from",
                                format_value(ls[end].load, plan.integer_load)));
  std::string s;
  for (std::size_t i = 0; i < parts.size(); ++i)
    s += (i == 0 ? "" : "; ") + parts[i];
  if (s.empty()) s = "no trial completed";
  s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s + ".";
}

std::string render_envelope_summary(const json& doc) {
  std::string out = fmt::format(
      "Envelope of {} over {} = {}..{}{} ({} trials, {:.0f} s)\n\n",
      rf::str(rf::obj(doc, "scenario"), "name"),
      rf::str(rf::obj(doc, "fault"), "proxy") + "/" + rf::str(rf::obj(doc, "fault"), "toxic") +
          "." + rf::str(rf::obj(doc, "fault"), "attribute"),
      rf::display(rf::any(rf::obj(doc, "fault"), "from")),
      rf::display(rf::any(rf::obj(doc, "fault"), "to")),
      rf::str(rf::obj(doc, "fault"), "unit").empty() ? ""
                                                     : " " + rf::str(rf::obj(doc, "fault"), "unit"),
      rf::arr(doc, "trials").size(), rf::num(doc, "spent_seconds").value_or(0));
  out += fmt::format("  {:>10}  {:>12}  {:>21}  {:>6}  {}\n", "LOAD req/s", "BOUNDARY", "BAND",
                     "TRIALS", "NOTE");
  for (const auto& b : rf::arr(doc, "boundary")) {
    const std::string holds = rf::str(b, "holds");
    std::string boundary = holds == "none"          ? "holds none"
                           : holds == "whole_range" ? "holds all"
                                                    : rf::display(rf::any(b, "fault"));
    std::string band = "-";
    if (const auto& bd = rf::any(b, "band"); bd.is_array() && bd.size() == 2)
      band =
          fmt::format("[{}, {}]", rf::number(bd[0].get<double>()), rf::number(bd[1].get<double>()));
    std::string note;
    if (!rf::flag(b, "complete")) note = "search cut short";
    if (!rf::arr(b, "non_monotone_trials").empty())
      note += (note.empty() ? "" : "; ") +
              fmt::format("not monotone (trials {})", rf::arr(b, "non_monotone_trials").dump());
    out += fmt::format("  {:>10}  {:>12}  {:>21}  {:>6}  {}\n", rf::display(rf::any(b, "load")),
                       boundary, band, rf::display(rf::any(b, "trials")), note);
  }
  out += "\n" + rf::str(doc, "summary") + "\n";
  for (const auto& p : rf::arr(doc, "boundary_rises_with_load"))
    out += fmt::format(
        "Not monotone in load: the boundary at {} req/s lies above the one at {} "
        "req/s.\n",
        rf::display(p[1]), rf::display(p[0]));
  if (rf::flag(doc, "budget_exhausted"))
    out += "The budget ran out: the search reports what it reached.\n";
  if (rf::flag(doc, "interrupted")) out += "Interrupted: the search reports what it reached.\n";
  return out;
}

std::string render_envelope_html(const json& doc) {
  const std::string name = rf::str(rf::obj(doc, "scenario"), "name", "scenario");
  std::string html;
  html.reserve(96 * 1024);
  html += "<!DOCTYPE html>\n<html lang=\"en\" data-script-errors=\"0\">\n<head>\n";
  html += "<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>Envelope - " + rf::xml_escape(name) + " - faultline</title>\n";
  html += R"(<script>
(function () {
  var errors = [];
  window.onerror = function (msg, src, line, col) {
    errors.push(msg + ' (line ' + line + ':' + col + ')');
    document.documentElement.setAttribute('data-script-errors', String(errors.length));
    document.documentElement.setAttribute('data-script-error-messages', errors.join(' | '));
  };
})();
</script>
)";
  html += "<style>\n" + rf::inline_safe(report_assets::uplot_css(), "</style") + "\n</style>\n";
  html += "<style>\n" + rf::inline_safe(report_assets::report_css(), "</style") + "\n</style>\n";
  html += "</head>\n<body>\n<div id=\"app\"></div>\n";
  html += "<script type=\"application/json\" id=\"faultline-envelope\">" +
          rf::json_for_script(doc) + "</script>\n";
  html += "<script>\n" + rf::inline_safe(report_assets::uplot_js(), "</script") + "\n</script>\n";
  html += "<script>\n" + rf::inline_safe(envelope_js(), "</script") + "\n</script>\n";
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace faultline::runner::envelope
