// Generator "story": a chain of `pages` pastes created in reverse order (ids are content hashes,
// so a page can only link to a page that already exists), each containing the url of the next;
// then the reader follows the chain from the first page, extracting each next url from the body.
// Stats: NAME.create (one per page written), NAME.read (one per page followed).
#include "loadgen/generator.hpp"
#include "loadgen/generators/size_dist.hpp"

namespace faultline::loadgen {
namespace {

// Random page text never contains '/', so "next: /" only matches the link line.
constexpr std::string_view kNextMarker = "next: ";

class StoryGenerator final : public Generator {
 public:
  std::size_t pages = 5;
  SizeDist size;
  std::size_t create = 0, read = 0;

  awaitable<void> run(Exchanger* ex) override {
    std::string next_url;  // url of the page after the one being written
    for (std::size_t i = pages; i-- > 0;) {
      GeneratedRequest req;
      req.name_index = create;
      req.method = "POST";
      req.target = "/pastes";
      req.body = "story page " + std::to_string(i + 1) + "/" + std::to_string(pages) + "\n" +
                 random_text(ex->rng(), size.sample(ex->rng())) + "\n";
      if (!next_url.empty()) req.body += std::string(kNextMarker) + next_url + "\n";
      req.content_type = "text/plain";
      StepResult r = co_await ex->exchange(std::move(req));
      if (r.outcome != Outcome::ok) co_return;
      auto doc = parse_json_or_discarded(r.body);
      if (doc.is_discarded() || !doc.contains("url") || !doc["url"].is_string()) co_return;
      next_url = doc["url"].get<std::string>();
    }
    // next_url is now the first page: follow the chain to its end.
    while (!next_url.empty()) {
      GeneratedRequest get;
      get.name_index = read;
      get.method = "GET";
      get.target = next_url;
      StepResult r = co_await ex->exchange(std::move(get));
      if (r.outcome != Outcome::ok) co_return;
      next_url.clear();
      const auto pos = r.body.rfind("next: /");
      if (pos != std::string::npos) {
        const auto start = pos + kNextMarker.size();
        const auto eol = r.body.find('\n', start);
        next_url = r.body.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
      }
    }
  }
};

std::unique_ptr<Generator> make_story(const json& spec, std::string_view path,
                                      const std::string& name, Workload& w, ConfigErrors& errors) {
  reject_unknown_keys(spec, path, {"name", "weight", "generator", "pages", "size"}, errors);
  auto g = std::make_unique<StoryGenerator>();
  if (auto p = get_integer(spec, path, "pages", errors)) {
    if (*p < 1 || *p > 1000)
      errors.add(path_join(path, "pages"), "must be 1..1000");
    else
      g->pages = static_cast<std::size_t>(*p);
  }
  g->size = parse_size_dist(spec, path, "size", 200, errors);
  g->create = w.add_name(name + ".create");
  g->read = w.add_name(name + ".read");
  return g;
}

}  // namespace

void register_story(GeneratorRegistry& registry) {
  registry.add({"story",
                "a chain of `pages` linked pastes written in reverse, then read by following the "
                "links; stats NAME.create, NAME.read",
                make_story});
}

}  // namespace faultline::loadgen
