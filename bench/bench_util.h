// What the benchmarks share: flags, order statistics, the machine's description.
// Benchmarks print figures; they assert nothing about time.
#ifndef BUILDHIST_BENCH_BENCH_UTIL_H_
#define BUILDHIST_BENCH_BENCH_UTIL_H_

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "workload/workload.h"

namespace buildhist::bench {

// `--name value` pairs. Unknown names are refused so that a typo never runs the
// default workload silently.
class Flags {
 public:
  Flags(int argc, char** argv, std::map<std::string, std::string> defaults)
      : values_(std::move(defaults)) {
    for (int i = 1; i < argc; ++i) {
      std::string name = argv[i];
      if (name == "--help" || name == "-h") {
        std::printf("usage: %s", argv[0]);
        for (const auto& [key, value] : values_) std::printf(" [--%s %s]", key.c_str(), value.c_str());
        std::printf("\n");
        std::exit(0);
      }
      if (name.rfind("--", 0) != 0 || !values_.count(name.substr(2)) || i + 1 >= argc) {
        std::fprintf(stderr, "%s: bad argument %s (try --help)\n", argv[0], name.c_str());
        std::exit(2);
      }
      values_[name.substr(2)] = argv[++i];
    }
  }

  std::string text(const std::string& name) const { return values_.at(name); }
  long long integer(const std::string& name) const { return std::stoll(values_.at(name)); }

 private:
  std::map<std::string, std::string> values_;
};

// The reference workload's shape from the flags builders, builds, steps,
// log-lines, appends and seed.
inline workload::Shape workload_shape(const Flags& flags) {
  workload::Shape shape;
  shape.builders = static_cast<int>(flags.integer("builders"));
  shape.builds = static_cast<int>(flags.integer("builds"));
  shape.steps = static_cast<int>(flags.integer("steps"));
  shape.log_lines = static_cast<int>(flags.integer("log-lines"));
  shape.appends = static_cast<int>(flags.integer("appends"));
  shape.seed = static_cast<std::uint64_t>(flags.integer("seed"));
  return shape;
}

// A benchmark's main: runs `body`, and reports an exception as one line and exit 1.
inline int run_main(const char* name, int (*body)(int, char**), int argc, char** argv) {
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
}

// The q-quantile (0 <= q <= 1) by nearest rank; sorts `values`.
template <typename T>
T quantile(std::vector<T>& values, double q) {
  if (values.empty()) return T{};
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

inline double peak_rss_mib_self() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

inline std::int64_t file_bytes(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<std::int64_t>(info.st_size) : 0;
}

inline void remove_store(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((path + suffix).c_str());
  }
}

// A fresh directory under $TMPDIR (or /tmp) for the benchmark's stores.
inline std::string temp_dir(const char* name) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + name + ".XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
  return pattern;
}

// One line saying where the figures come from.
inline void print_machine(const char* benchmark) {
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) < 0) load[0] = -1;
  std::printf("%s: %s, nproc %ld, SQLite %s, load average %.2f\n", benchmark, when,
              sysconf(_SC_NPROCESSORS_ONLN), sqlite3_libversion(), load[0]);
#ifdef NDEBUG
  std::printf("build: NDEBUG (release)\n");
#else
  std::printf("build: assertions on: NOT a release build, figures are not comparable\n");
#endif
}

}  // namespace buildhist::bench

#endif  // BUILDHIST_BENCH_BENCH_UTIL_H_
