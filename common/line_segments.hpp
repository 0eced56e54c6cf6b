// A line-oriented file that rolls into compressed segments, so a 24-hour stream (the load
// generator's --intervals-out) stays within a bounded, documented size, and the two ways to read
// it: a live tail that follows the rolls, and a whole read of every segment in order.
//
// Layout, for a stream at PATH:
//   PATH             the live segment (plain text, appended and flushed a line at a time)
//   PATH.0001.gz     the first rolled segment (gzip), PATH.0002.gz the second, ...
// A roll renames PATH to PATH.NNNN, starts a new PATH, and compresses PATH.NNNN into
// PATH.NNNN.gz on a background thread (written to PATH.NNNN.gz.tmp and renamed, then PATH.NNNN
// is removed). A crash mid-compression leaves PATH.NNNN intact; readers take PATH.NNNN.gz when it
// exists and PATH.NNNN otherwise, so nothing written is ever lost. `zcat PATH.*.gz; cat PATH`
// reads the stream by hand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace faultline {

class RollingLineWriter {
 public:
  RollingLineWriter() = default;
  ~RollingLineWriter();
  RollingLineWriter(const RollingLineWriter&) = delete;
  RollingLineWriter& operator=(const RollingLineWriter&) = delete;

  // Truncates PATH and removes segments a previous stream left there. False (with `error` set)
  // when PATH cannot be written.
  bool open(const std::string& path, std::string& error);
  bool is_open() const { return out_.is_open(); }
  // Appends `line` and a newline, flushed. False on a write error (the disk is full).
  bool write(const std::string& line);
  // Closes the live segment and starts the next one; the closed one is compressed in the
  // background. False (with `error` set) when the rename or the new file failed; the stream then
  // goes on in the old file.
  bool roll(std::string& error);
  // Waits for a compression in progress. Called by the destructor.
  void finish();
  std::uint32_t segments() const { return next_ - 1; }

 private:
  std::string path_;
  std::ofstream out_;
  std::uint32_t next_ = 1;
  std::thread compressor_;
};

// PATH.NNNN.gz or, when that does not exist, PATH.NNNN, for NNNN = 1, 2, ... in order, stopping
// at the first number with neither.
std::vector<std::filesystem::path> rolled_segments(const std::string& path);

// Every complete line of the stream in order: the rolled segments, then PATH. A torn last line
// (the writer was killed mid-line) is passed too; the caller decides. False (with `error` set)
// when a segment exists but cannot be read; lines already passed stay passed.
bool for_each_line(const std::string& path, const std::function<void(const std::string&)>& fn,
                   std::string& error);

// Compresses `from` into `to` (gzip, written to `to`.tmp and renamed). False with `error` set.
bool gzip_file(const std::filesystem::path& from, const std::filesystem::path& to,
               std::string& error);

// Reads complete lines appended to PATH since the last call, following rolls: when PATH is
// renamed away, the old file is read to its end before the new PATH is opened, so no line is
// missed or read twice. It must look at least once per roll (the runner reads every second; the
// load generator rolls hourly): a segment rolled and compressed between two looks is skipped.
class LineTail {
 public:
  explicit LineTail(std::string path) : path_(std::move(path)) {}
  ~LineTail();
  LineTail(const LineTail&) = delete;
  LineTail& operator=(const LineTail&) = delete;
  std::vector<std::string> read();

 private:
  void drain(std::vector<std::string>& out);

  std::string path_;
  int fd_ = -1;
  std::string pending_;
};

}  // namespace faultline
