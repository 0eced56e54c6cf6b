// See stage_links.hpp.
#include "proxy/stage_links.hpp"

#include <algorithm>

namespace faultline::proxy {

void StageLinks::refresh(Proxy& proxy, const ToxicList& list, Stream stream, Kind kind, Rng& rng,
                         Clock::time_point now) {
  std::vector<StageLink> next;
  for (const auto& t : list) {
    if (t->toxic.stream != stream) continue;
    auto it = std::find_if(links_.begin(), links_.end(),
                           [&](const StageLink& l) { return l.toxic == t; });
    if (it != links_.end()) {
      next.push_back(std::move(*it));
      continue;
    }
    // Toxiproxy's semantics: toxicity is drawn once per connection and direction.
    StageLink link;
    link.toxic = t;
    // A slot is taken only for a stage that injects something: a draw that chose nothing (a
    // weighted toxic's remainder) must not hold one for the whole connection.
    if (t->toxic.probability.hit(rng)) {
      auto stage = kind == Kind::tcp ? t->toxic.config->make_stream_stage(rng, now)
                                     : t->toxic.config->make_upgraded_stage(rng, now);
      std::optional<FaultSlot> slot;
      if (stage) slot = proxy.acquire_fault();
      if (slot) {
        link.active = true;
        link.slot = std::move(*slot);
        link.stage = std::move(stage);
        link.stage->stream = stream;
        if (link.stage->label.empty())
          t->faults->Increment();
        else
          proxy.env().metrics.faults(proxy.name(), link.stage->label)->Increment();
      }
    }
    next.push_back(std::move(link));
  }
  links_ = std::move(next);
}

bool StageLinks::any_active() const {
  return std::any_of(links_.begin(), links_.end(), [](const StageLink& l) { return l.active; });
}

bool StageLinks::holds_eof() const {
  return std::any_of(links_.begin(), links_.end(),
                     [](const StageLink& l) { return l.active && l.stage->holds_eof(); });
}

void StageLinks::on_data(std::vector<Piece>& pieces, Clock::time_point now, StreamEffects& fx) {
  for (auto& l : links_)
    if (l.active) l.stage->on_data(pieces, now, fx);
}

Clock::duration StageLinks::on_eof() {
  Clock::duration extra{};
  for (auto& l : links_)
    if (l.active) extra += l.stage->on_eof();
  return extra;
}

std::optional<Clock::time_point> StageLinks::deadline() const {
  std::optional<Clock::time_point> out;
  for (const auto& l : links_)
    if (l.active)
      if (auto t = l.stage->deadline(); t && (!out || *t < *out)) out = t;
  return out;
}

}  // namespace faultline::proxy
