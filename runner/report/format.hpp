// Small formatting helpers shared by the report writers: tolerant access to results.json values
// (missing or null stays "n/a", never a made-up 0), human number formatting, XML/HTML escaping.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace faultline::runner::report_format {

// j[key] as a string when it is one, else `fallback`.
std::string str(const nlohmann::json& j, std::string_view key, std::string fallback = "");
// j[key] as a number when it is one (null, missing or non-number: nullopt).
std::optional<double> num(const nlohmann::json& j, std::string_view key);
// j[key] whatever it is; null when j is not an object or has no such key.
const nlohmann::json& any(const nlohmann::json& j, std::string_view key);
// j[key] when it is the boolean true.
bool flag(const nlohmann::json& j, std::string_view key);
// j[key] when it is an array/object, else an empty one of that kind.
const nlohmann::json& arr(const nlohmann::json& j, std::string_view key);
const nlohmann::json& obj(const nlohmann::json& j, std::string_view key);

// A value with up to `sig` significant digits, no trailing zeros ("0.0523", "1.04", "12000").
std::string number(double v, int sig = 4);
// A JSON value for display: numbers via number(), strings as is, bool, null -> "n/a".
std::string display(const nlohmann::json& v);

// Escapes &, <, >, " and ' for XML/HTML text and attributes; drops characters XML 1.0 forbids
// (control characters other than tab/newline/CR). In attributes (the default) tab, newline and CR
// become character references so parsers keep them; in element text they stay as they are.
std::string xml_escape(std::string_view s, bool attribute = true);

// Compact JSON that is safe inside an HTML <script> element: '<', '>' and '&' become \u003c etc.
// (they can only occur inside JSON strings, where the escape means the same), invalid UTF-8 is
// replaced.
std::string json_for_script(const nlohmann::json& j);

// Code inlined into an HTML element must not close it early: every `closing_tag` ("</script",
// any case) becomes "<\\/script" (the same inside JS strings; never legitimate elsewhere).
std::string inline_safe(std::string s, std::string_view closing_tag);

}  // namespace faultline::runner::report_format
