// report.html: one self-contained page. The results document is embedded as JSON (escaped so it
// cannot close its <script> element) and report.js draws everything from it with the uPlot
// inlined at build time, so the file opens offline, from a CI artifact store or an e-mail.
// The page records script errors on <html data-script-errors=N> and, once drawn, the number of
// charts on <body data-charts-rendered=N>: the Chromium test reads both.
#include <cctype>
#include <string>

#include "common/files.hpp"
#include "format.hpp"
#include "report.hpp"
#include "report_assets.hpp"

namespace faultline::runner {

namespace rf = report_format;

std::string render_html_report(const nlohmann::json& results) {
  const auto& scenario = rf::obj(results, "scenario");
  const std::string name = rf::str(scenario, "name", "scenario");
  std::string verdict = rf::str(results, "verdict", "error");
  for (auto& c : verdict)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  std::string html;
  html.reserve(128 * 1024);
  html += "<!DOCTYPE html>\n<html lang=\"en\" data-script-errors=\"0\">\n<head>\n";
  html += "<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<meta name=\"generator\" content=\"faultline " +
          rf::xml_escape(rf::str(results, "faultline_version")) + "\">\n";
  html += "<title>" + rf::xml_escape(verdict) + " - " + rf::xml_escape(name) +
          " - faultline report</title>\n";
  // First script on the page: every later error (inlined uPlot, report.js, drawing) is counted.
  html += R"(<script>
(function () {
  var errors = [];
  function record(msg) {
    errors.push(String(msg));
    var root = document.documentElement;
    root.setAttribute('data-script-errors', String(errors.length));
    root.setAttribute('data-script-error-messages', errors.join(' | '));
  }
  window.onerror = function (msg, src, line, col) { record(msg + ' (line ' + line + ':' + col + ')'); };
  window.addEventListener('unhandledrejection', function (e) { record('unhandled rejection: ' + e.reason); });
  window.faultlineRecordError = record;
})();
</script>
)";
  html += "<style>\n" + rf::inline_safe(report_assets::uplot_css(), "</style") + "\n</style>\n";
  html += "<style>\n" + rf::inline_safe(report_assets::report_css(), "</style") + "\n</style>\n";
  html += "</head>\n<body>\n";
  html +=
      "<noscript><p class=\"noscript\">This report draws its tables and charts with "
      "JavaScript; enable it to see them. The data is in results.json next to this "
      "file.</p></noscript>\n";
  html += "<div id=\"app\"></div>\n";
  html += "<script type=\"application/json\" id=\"faultline-results\">" +
          rf::json_for_script(results) + "</script>\n";
  html += "<script>\n" + rf::inline_safe(report_assets::uplot_js(), "</script") + "\n</script>\n";
  html += "<script>\n" + rf::inline_safe(report_assets::report_js(), "</script") + "\n</script>\n";
  html += "</body>\n</html>\n";
  return html;
}

void write_html_report(const nlohmann::json& results, const std::string& path) {
  write_file_atomically(path, render_html_report(results));
}

}  // namespace faultline::runner
