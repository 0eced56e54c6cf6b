// Assets embedded at build time into the generated report_assets.cpp (see CMakeLists.txt): the
// pinned uPlot's minified JS and CSS, and the report page's own report.js and report.css.
#pragma once

#include <string>

namespace faultline::runner::report_assets {

const std::string& uplot_js();
const std::string& uplot_css();
const std::string& report_js();
const std::string& report_css();

}  // namespace faultline::runner::report_assets
