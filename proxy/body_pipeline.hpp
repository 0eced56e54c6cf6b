// The body faults of one HTTP exchange and direction (http_body_delay, http_body_truncate,
// http_body_rate), as one pipeline: each decoded chunk of the body becomes a piece, which the
// faults' stages reshape in toxic order (delay, split, cut) exactly as the stages of a TCP
// connection reshape its chunks. relay_body (http_body.hpp) writes the pieces when they are due,
// one chunk at a time, so a slowed body also slows the reading of it.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "proxy/behavior.hpp"

namespace faultline::proxy {

class BodyPipeline {
 public:
  BodyPipeline() = default;
  // The stages of `faults` (Kind::body), made now with draws from `rng`.
  BodyPipeline(const std::vector<const RequestFault*>& faults, Rng& rng, Clock::time_point now);
  bool empty() const noexcept { return stages_.empty(); }
  // The pieces of `bytes`, read at `now`, after every stage; `fx` collects what they ask for.
  std::vector<Piece> on_chunk(std::string_view bytes, Clock::time_point now, StreamEffects& fx);

 private:
  std::vector<std::unique_ptr<StreamStage>> stages_;
};

}  // namespace faultline::proxy
