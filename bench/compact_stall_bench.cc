// How long a master's commits wait while `compact` runs on its store, and how fast
// compact processes log text.
//
// Writes the reference workload (--builders x --builds) into a fresh store and
// closes it. Then a child process (the master) opens the store and writes builds
// after those, one at a time, --master-rate builds a second (0: no master), each
// finished with Durability::kImmediate, so that every build's write call returns
// only once its commit did. Meanwhile this process
// runs buildhist::compact() (recompression and vacuum; retention with
// --keep-builds N). Prints the master's per-build write times while compact ran
// (longest, p99, median: each includes that build's commit wait), compact's
// seconds, the log text it processed per second, and the bytes on disk before and
// after.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "bench_util.h"
#include "buildhist/buildhist.h"
#include "workload/workload.h"

namespace buildhist::bench {
namespace {

using Clock = std::chrono::steady_clock;

double millis_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// What `control` says: 'g' (compact has started), EOF (it has ended), or nothing yet.
enum class Signal { kNone, kStarted, kEnded };
Signal poll_signal(int control) {
  pollfd ready{control, POLLIN, 0};
  if (poll(&ready, 1, 0) <= 0) return Signal::kNone;
  char byte = 0;
  return read(control, &byte, 1) == 1 ? Signal::kStarted : Signal::kEnded;
}

// The master: writes `rate` builds a second after `first_number`, round the
// builders, until `control` reaches EOF; prints the write times of the builds
// written after 'g'.
[[noreturn]] void write_as_master(const std::string& path, workload::Shape shape, int first_number,
                                  double rate, int control, int ready) {
  try {
    shape.durability = Durability::kImmediate;
    Options options;
    options.busy_timeout = std::chrono::milliseconds(10000);
    auto store = Store::open(path, options);
    std::vector<double> waits;
    bool recording = false;
    int written = 0;
    const auto every = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1 / rate));
    auto next = Clock::now();
    for (int number = first_number;; ++number) {
      for (int builder = 0; builder < shape.builders; ++builder) {
        std::this_thread::sleep_until(next);
        next += every;
        const auto start = Clock::now();
        workload::write_build(*store, shape, builder, number);
        if (recording) waits.push_back(millis_since(start));
        if (++written == 10) (void)!write(ready, "r", 1);  // writing at its pace: start compact
        const Signal signal = poll_signal(control);
        if (signal == Signal::kStarted) recording = true;
        if (signal == Signal::kEnded) {
          const std::size_t count = waits.size();
          std::printf("master: %zu builds written while compact ran (each committed before the "
                      "next began)\n",
                      count);
          std::printf("master: per-build write time (includes its commit wait): longest %.1f ms, "
                      "p99 %.1f ms, median %.2f ms\n",
                      quantile(waits, 1.0), quantile(waits, 0.99), quantile(waits, 0.5));
          std::fflush(stdout);
          _exit(0);
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "master: %s\n", e.what());
    _exit(1);
  }
}

double cpu_seconds_self() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::int64_t log_text_bytes(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* query = nullptr;
  sqlite3_prepare_v2(db, "SELECT ifnull(sum(raw_bytes), 0) FROM log_chunk", -1, &query, nullptr);
  const std::int64_t bytes = sqlite3_step(query) == SQLITE_ROW ? sqlite3_column_int64(query, 0) : 0;
  sqlite3_finalize(query);
  sqlite3_close(db);
  return bytes;
}

void write_reference_store(const std::string& path, const workload::Shape& shape) {
  auto store = Store::open(path, Options{});
  for (int number = 1; number <= shape.builds; ++number) {
    for (int builder = 0; builder < shape.builders; ++builder) {
      workload::write_build(*store, shape, builder, number);
    }
  }
  store->flush();
}

int main_bench(int argc, char** argv) {
  const Flags flags(argc, argv,
                    {{"builders", "10"}, {"builds", "1000"}, {"steps", "8"}, {"log-lines", "50"},
                     {"appends", "5"}, {"seed", "1"}, {"keep-builds", "0"}, {"master-rate", "100"},
                     {"dir", ""}});
  const double rate = static_cast<double>(flags.integer("master-rate"));
  const workload::Shape shape = workload_shape(flags);
  const std::string dir = flags.text("dir").empty() ? temp_dir("compact_stall_bench")
                                                    : flags.text("dir");
  const std::string path = dir + "/store.db";
  remove_store(path);
  print_machine("compact_stall_bench");
  std::printf("store: %d builders x %d builds, %d steps, %d log lines\n", shape.builders,
              shape.builds, shape.steps, shape.log_lines);
  write_reference_store(path, shape);
  const std::int64_t text = log_text_bytes(path);

  int control[2], ready[2];
  if (pipe(control) != 0 || pipe(ready) != 0) throw std::runtime_error("pipe failed");
  std::fflush(stdout);
  const pid_t master = rate > 0 ? fork() : 0;
  if (master < 0) throw std::runtime_error("fork failed");
  if (master == 0 && rate > 0) {
    close(control[1]);
    close(ready[0]);
    write_as_master(path, shape, shape.builds + 1, rate, control[0], ready[1]);
  }
  close(control[0]);
  close(ready[1]);
  char byte = 0;
  if (rate > 0 && read(ready[0], &byte, 1) != 1) {
    throw std::runtime_error("the master did not start");
  }

  CompactOptions options;
  if (flags.integer("keep-builds") > 0) {
    options.keep_builds = static_cast<int>(flags.integer("keep-builds"));
  }
  if (rate > 0) (void)!write(control[1], "g", 1);
  const double cpu_before = cpu_seconds_self();
  const auto start = Clock::now();
  const CompactReport report = compact(path, options);
  const double seconds = millis_since(start) / 1000;
  const double cpu = cpu_seconds_self() - cpu_before;
  close(control[1]);
  int status = 0;
  if (rate > 0) waitpid(master, &status, 0);

  std::printf("compact: %.2f s; %.1f MB of log text in the store before, %.1f MB/s; "
              "%lld builds deleted, %lld logs recompressed\n",
              seconds, static_cast<double>(text) / 1e6, static_cast<double>(text) / 1e6 / seconds,
              static_cast<long long>(report.builds_deleted),
              static_cast<long long>(report.logs_compressed));
  std::printf("compact: %.2f s of CPU (user and sys, every thread): %.1f MB of text a CPU second\n",
              cpu, static_cast<double>(text) / 1e6 / cpu);
  std::printf("compact: on disk %.1f MiB before, %.1f MiB after\n",
              static_cast<double>(report.bytes_on_disk_before) / (1 << 20),
              static_cast<double>(report.bytes_on_disk_after) / (1 << 20));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

}  // namespace
}  // namespace buildhist::bench

int main(int argc, char** argv) {
  return buildhist::bench::run_main("compact_stall_bench", buildhist::bench::main_bench, argc,
                                    argv);
}
