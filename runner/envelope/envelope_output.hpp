// envelope.json, the terminal summary and report.html of `faultline envelope`
// (envelope_output.cpp).
#pragma once

#include <string>

#include "runner/envelope/envelope.hpp"

namespace faultline::runner::envelope {

// The envelope.json document (schema: docs/envelope.md).
json envelope_to_json(const SearchResult& r, const Plan& plan, const std::string& command);
// "At 400 req/s the service holds p99 <= 100 ms up to 62 ms ± 4 ms of redis0/slow.latency; ..."
std::string summary_sentence(const SearchResult& r, const Plan& plan);
// The table per load level and the sentence, from envelope.json alone.
std::string render_envelope_summary(const json& doc);
// report.html, from envelope.json alone.
std::string render_envelope_html(const json& doc);

}  // namespace faultline::runner::envelope
