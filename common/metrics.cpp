#include "common/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace faultline {

namespace {

prometheus::MetricFamily gauge_family(const char* name, const char* help, double value,
                                      prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector() : start_time_(process_start_time_seconds().value_or(0)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    return {
        gauge_family("process_cpu_seconds_total",
                     "Total user and system CPU time spent in seconds.", cpu,
                     prometheus::MetricType::Counter),
        gauge_family("process_resident_memory_bytes", "Resident memory size in bytes.",
                     process_resident_memory_bytes()),
        gauge_family("process_open_fds", "Number of open file descriptors.", process_open_fds()),
        gauge_family("process_max_fds", "Maximum number of open file descriptors.",
                     static_cast<double>(rl.rlim_cur)),
        gauge_family("process_start_time_seconds",
                     "Start time of the process since unix epoch in seconds.", start_time_),
    };
  }

 private:
  double start_time_;
};

}  // namespace

double process_resident_memory_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

std::optional<double> process_start_time_seconds() {
  // Field 22 is the start time in clock ticks after boot; field 2 (the command) is in
  // parentheses and may hold spaces, so fields are counted after its closing one.
  std::ifstream stat("/proc/self/stat");
  const std::string content((std::istreambuf_iterator<char>(stat)),
                            std::istreambuf_iterator<char>());
  const auto close = content.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(content.substr(close + 1));
  std::string field;
  for (int i = 3; i < 22 && rest >> field; ++i) {
  }
  unsigned long long start_ticks = 0;
  double uptime = 0;
  std::ifstream uptime_file("/proc/uptime");
  const long ticks = sysconf(_SC_CLK_TCK);
  if (!(rest >> start_ticks) || !(uptime_file >> uptime) || ticks <= 0) return std::nullopt;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return now - uptime + static_cast<double>(start_ticks) / static_cast<double>(ticks);
}

double process_open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  double n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n += 1;
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

Metrics::Metrics(bool with_process_metrics) : registry_(std::make_shared<prometheus::Registry>()) {
  if (with_process_metrics) process_ = std::make_shared<ProcessCollector>();
}

std::string Metrics::serialize() const {
  auto families = registry_->Collect();
  if (process_) {
    auto more = process_->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

prometheus::Histogram::BucketBoundaries latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0,  60.0};
}

}  // namespace faultline
