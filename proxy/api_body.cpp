// REST API bodies (see api_body.hpp).
#include "proxy/api_body.hpp"

#include <fmt/format.h>

namespace faultline::proxy {

std::optional<json> parse_api_body(std::string_view text, std::string& error) {
  if (text.empty()) return json::object();
  std::string why;
  auto doc = parse_json(text, &why, kMaxJsonDepth);
  if (!doc) error = "invalid JSON body: " + why;
  return doc;
}

std::optional<std::vector<PopulateEntry>> parse_populate(const json& body, const std::string& path,
                                                         const Registry& registry,
                                                         ConfigErrors& errors) {
  const std::size_t before = errors.list().size();
  const json* list = &body;
  if (body.is_object())
    if (auto it = body.find("proxies"); it != body.end()) list = &*it;
  if (!list->is_array()) {
    errors.add(path, "must be an array of proxies");
    return std::nullopt;
  }
  std::vector<PopulateEntry> parsed;
  for (std::size_t i = 0; i < list->size(); ++i) {
    std::vector<Toxic> toxics;
    const std::string ipath = path_index(path, i);
    if (auto s = parse_proxy((*list)[i], ipath, nullptr, registry, &toxics, errors)) {
      for (const auto& other : parsed)
        if (other.settings.name == s->name)
          errors.add(path_join(ipath, "name"), fmt::format("duplicate proxy \"{}\"", s->name));
      parsed.push_back({std::move(*s), std::move(toxics)});
    }
  }
  if (errors.list().size() != before) return std::nullopt;
  return parsed;
}

}  // namespace faultline::proxy
