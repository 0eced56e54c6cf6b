// envelope.js, embedded at build time into the generated envelope_assets.cpp (embed_js.cmake).
#pragma once

#include <string>

namespace faultline::runner::envelope {

const std::string& envelope_js();

}  // namespace faultline::runner::envelope
