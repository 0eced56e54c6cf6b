// The run's on-disk record (see run_record.hpp).
#include "runner/run_record.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace faultline::runner {

namespace fs = std::filesystem;

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", tmp, path, ec.message()));
}

RunRecordWriter::~RunRecordWriter() {
  if (events_) std::fclose(events_);
}

std::string RunRecordWriter::open(const std::string& dir, const json& header) {
  try {
    write_file_atomically((fs::path(dir) / kRunRecordFile).string(), header.dump(2) + "\n");
  } catch (const std::exception& e) {
    return e.what();
  }
  std::lock_guard lock(mutex_);
  const std::string path = (fs::path(dir) / kRunEventsFile).string();
  events_ = std::fopen(path.c_str(), "we");
  if (!events_) return "cannot open " + path;
  return "";
}

void RunRecordWriter::append(const json& event) {
  // Metrics texts and command output come from other programs: invalid UTF-8 is replaced, never
  // thrown (nlohmann's dump() throws on it by default).
  const std::string line = event.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  if (!events_) return;
  if (std::fwrite(line.data(), 1, line.size(), events_) != line.size() || std::fflush(events_) != 0)
    ++failed_;
}

RecordedRun read_run_record(const std::string& dir) {
  RecordedRun r;
  const std::string header = (fs::path(dir) / kRunRecordFile).string();
  if (!fs::exists(header))
    throw ConfigError(
        fmt::format("{}: no {} (not a faultline run output directory, or a run "
                    "from a faultline without run records)",
                    dir, kRunRecordFile));
  r.header = load_json_file(header);
  std::ifstream in((fs::path(dir) / kRunEventsFile).string());
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object())
      r.events.push_back(std::move(j));
    else
      ++r.skipped_lines;
  }
  return r;
}

}  // namespace faultline::runner
