// See body_pipeline.hpp.
#include "proxy/body_pipeline.hpp"

namespace faultline::proxy {

BodyPipeline::BodyPipeline(const std::vector<const RequestFault*>& faults, Rng& rng,
                           Clock::time_point now) {
  for (const RequestFault* f : faults)
    if (f->body_fault)
      if (auto stage = f->body_fault->make(rng, now)) stages_.push_back(std::move(stage));
}

std::vector<Piece> BodyPipeline::on_chunk(std::string_view bytes, Clock::time_point now,
                                          StreamEffects& fx) {
  std::vector<Piece> pieces;
  pieces.push_back(Piece{now, std::string(bytes)});
  for (auto& stage : stages_)
    stage->on_data(pieces, now, fx);
  return pieces;
}

}  // namespace faultline::proxy
