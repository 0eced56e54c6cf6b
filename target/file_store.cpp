// `--store file:DIR`: a durable append-only log (format and recovery in file_log.hpp) plus an
// in-memory index of every paste. One writer thread batches concurrent appends into one write()
// and, with `--fsync always`, one fdatasync() before acknowledging any of them (group commit), so
// an acknowledged paste survives kill -9 and power loss. `--fsync interval` syncs every
// `fsync_interval` instead (a crash may lose the last interval's pastes, never corrupt the log).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "target/file_log.hpp"
#include "target/handoff.hpp"
#include "target/store.hpp"

namespace faultline::target {

namespace {

class FileStore final : public Store {
 public:
  FileStore(const std::string& dir, const StoreOptions& options, TargetMetrics& metrics)
      : options_(options), metrics_(metrics) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create store directory " + dir + ": " + ec.message());
    path_ = (std::filesystem::path(dir) / "pastes.log").string();
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path_ + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw std::runtime_error(path_ + " is in use by another faultline target");
    }
    const LogRecovery r = recover_log(path_, [this](std::string_view id, std::string_view c) {
      index_.try_emplace(std::string(id), std::string(c));
    });
    size_ = r.valid_bytes;
    for (const DamagedRegion& d : r.damaged) {
      if (!d.saved_to.empty())
        spdlog::warn("{}: skipped {} damaged bytes at offset {}{}; copy in {}", path_, d.length,
                     d.offset, d.tail ? " (the tail, cut off)" : "", d.saved_to);
      else
        spdlog::error("{}: skipped {} damaged bytes at offset {}, left in the log: {}", path_,
                      d.length, d.offset, d.save_error);
    }
    spdlog::info("{}: recovered {} records, {} damaged regions ({} bytes cut from the tail)", path_,
                 r.records, r.damaged.size(), r.truncated_bytes);
    writer_ = std::thread([this] { writer_loop(); });
  }

  ~FileStore() override { close(); }

  void close() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (fd_ >= 0) {
      ::fdatasync(fd_);
      ::close(fd_);
      fd_ = -1;
    }
  }

  std::size_t shard_count() const override { return 1; }

  awaitable<PutOutcome> put(std::string id, std::string content) override {
    auto h = std::make_shared<Handoff<PutOutcome>>(co_await asio::this_coro::executor);
    enqueue(std::move(id), std::move(content),
            [h](PutOutcome o) { Handoff<PutOutcome>::deliver(h, std::move(o)); });
    co_await Handoff<PutOutcome>::wait(h);
    co_return std::move(h->value());
  }

  awaitable<GetOutcome> get(std::string id) override { co_return get_blocking(id); }

  awaitable<bool> ready(std::shared_ptr<std::vector<std::string>> detail) override {
    std::lock_guard lock(mu_);
    detail->push_back("file " + path_ + ": " + (failed_ ? "write failed: " + failure_ : "ok"));
    co_return !failed_;
  }

  bool ready_blocking(std::vector<std::string>& detail) override {
    std::lock_guard lock(mu_);
    detail.push_back("file " + path_ + ": " + (failed_ ? "write failed: " + failure_ : "ok"));
    return !failed_;
  }

  PutOutcome put_blocking(const std::string& id, const std::string& content) override {
    std::promise<PutOutcome> p;
    auto f = p.get_future();
    enqueue(id, content, [&p](PutOutcome o) { p.set_value(std::move(o)); });
    return f.get();
  }

  GetOutcome get_blocking(const std::string& id) override {
    metrics_.store_op(0, StoreOp::get);
    std::shared_lock lock(index_mu_);
    auto it = index_.find(id);
    if (it == index_.end()) return {StoreCode::not_found, {}, {}};
    return {StoreCode::ok, it->second, {}};
  }

 private:
  struct Pending {
    std::string id;
    std::string content;
    std::function<void(PutOutcome)> done;
  };

  void enqueue(std::string id, std::string content, std::function<void(PutOutcome)> done) {
    metrics_.store_op(0, StoreOp::put);
    // Never acknowledge what replay could not read back (the format holds 2^32-1 bytes).
    const std::uint64_t cap = std::min(options_.max_content_bytes, kLogFormatMaxContent);
    if (content.size() > cap) {
      metrics_.store_error(0, StoreError::io);
      done({StoreCode::failed, false,
            "content of " + std::to_string(content.size()) +
                " bytes is larger than the file store's record cap of " + std::to_string(cap)});
      return;
    }
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back({std::move(id), std::move(content), std::move(done)});
        cv_.notify_one();
        return;
      }
    }
    metrics_.store_error(0, StoreError::io);
    done({StoreCode::failed, false, "store is shutting down"});
  }

  bool known(const std::string& id) {
    std::shared_lock lock(index_mu_);
    return index_.count(id) != 0;
  }

  // Appends `bytes` at the end of the log; false (with errno's message) on failure, after
  // cutting off whatever part was written so the log stays parseable.
  bool append(const std::string& bytes, std::string& error) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        error = std::string("write: ") + std::strerror(errno);
        if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0)
          spdlog::error("{}: cannot cut off a partial append: {}", path_, std::strerror(errno));
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    size_ += bytes.size();
    return true;
  }

  void writer_loop() {
    auto last_sync = std::chrono::steady_clock::now();
    bool dirty = false;
    for (;;) {
      std::vector<Pending> batch;
      {
        std::unique_lock lock(mu_);
        if (options_.fsync == FsyncPolicy::interval && dirty)
          cv_.wait_until(lock, last_sync + options_.fsync_interval,
                         [this] { return stopping_ || !queue_.empty(); });
        else
          cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        batch.swap(queue_);
        if (batch.empty() && stopping_) return;
      }

      // Duplicates (already stored, or twice in this batch) are answered without writing.
      std::string bytes;
      std::vector<char> fresh(batch.size(), 0);
      std::unordered_set<std::string_view> in_batch;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (known(batch[i].id) || !in_batch.insert(batch[i].id).second) continue;
        fresh[i] = 1;
        bytes += encode_log_record(batch[i].id, batch[i].content);
      }

      std::string error;
      bool ok = bytes.empty() || append(bytes, error);
      if (ok && !bytes.empty()) dirty = true;
      const auto now = std::chrono::steady_clock::now();
      if (ok && dirty &&
          (options_.fsync == FsyncPolicy::always || now - last_sync >= options_.fsync_interval)) {
        if (::fdatasync(fd_) != 0) {
          ok = false;
          error = std::string("fdatasync: ") + std::strerror(errno);
        }
        dirty = false;
        last_sync = now;
      }
      {
        std::lock_guard lock(mu_);
        failed_ = !ok;
        failure_ = error;
      }
      if (!ok) spdlog::error("{}: {}", path_, error);

      if (ok) {
        std::unique_lock lock(index_mu_);
        for (std::size_t i = 0; i < batch.size(); ++i)
          if (fresh[i]) index_.try_emplace(batch[i].id, std::move(batch[i].content));
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!ok) {
          if (fresh[i]) metrics_.store_error(0, StoreError::io);
          batch[i].done({StoreCode::failed, false, error});
        } else {
          batch[i].done({StoreCode::ok, fresh[i] != 0, {}});
        }
      }
    }
  }

  StoreOptions options_;
  TargetMetrics& metrics_;
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // writer thread only (after construction)

  std::mutex mu_;  // guards queue_, stopping_, failed_, failure_
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  bool failed_ = false;
  std::string failure_;

  std::shared_mutex index_mu_;
  std::unordered_map<std::string, std::string> index_;
  std::thread writer_;
};

}  // namespace

std::unique_ptr<Store> make_file_store(const std::string& dir, const StoreOptions& options,
                                       TargetMetrics& metrics) {
  return std::make_unique<FileStore>(dir, options, metrics);
}

}  // namespace faultline::target
