// How long lookups wait while another process holds the store's write lock.
//
// A child process takes the write lock again and again (BEGIN IMMEDIATE, held
// --hold-ms, then released for --gap-ms), as a compaction or a second master
// would. Meanwhile a master thread writes the reference workload through the
// library and stalls whenever its writer cannot commit, and a reader thread times
// each lookup of a random recent build (a cache hit), each page of the newest 20,
// and each Store::stats(). Prints the median, p99 and longest of each: before the
// writer was split into admit/enqueue, a lookup of the master's builder waited as
// long as the lock was held.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "bench_util.h"
#include "buildhist/buildhist.h"
#include "workload/workload.h"

namespace buildhist::bench {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void hold_lock_repeatedly(const std::string& path, int hold_ms, int gap_ms,
                                       int seconds) {
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE, 60000);
    const auto end = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < end) {
      db.exec("BEGIN IMMEDIATE");
      std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
      db.exec("COMMIT");
      std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    }
    _exit(0);
  } catch (...) {
    _exit(1);
  }
}

void print_figures(const char* what, std::vector<double> micros) {
  const double longest = quantile(micros, 1.0);
  std::printf("%-8s %8zu calls  median %9.1f us  p99 %9.1f us  longest %10.1f us\n", what,
              micros.size(), quantile(micros, 0.5), quantile(micros, 0.99), longest);
}

int main_bench(int argc, char** argv) {
  const Flags flags(argc, argv,
                    {{"seconds", "5"}, {"hold-ms", "300"}, {"gap-ms", "50"}, {"dir", ""}});
  const int seconds = static_cast<int>(flags.integer("seconds"));
  const std::string dir =
      flags.text("dir").empty() ? temp_dir("contention_bench") : flags.text("dir");
  const std::string path = dir + "/store.db";
  remove_store(path);
  print_machine("contention_bench");

  Options options;
  options.busy_timeout = std::chrono::milliseconds(10000);
  auto store = Store::open(path, options);
  workload::Shape shape;
  shape.builders = 1;
  shape.builds = 1000000;
  for (int number = 1; number <= 50; ++number) workload::write_build(*store, shape, 0, number);
  store->flush();
  const std::string builder = workload::plan_build(shape, 0, 1).builder;
  std::printf("a process holds the write lock %lld ms of every %lld for %d s\n",
              flags.integer("hold-ms"), flags.integer("hold-ms") + flags.integer("gap-ms"),
              seconds);

  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    hold_lock_repeatedly(path, static_cast<int>(flags.integer("hold-ms")),
                         static_cast<int>(flags.integer("gap-ms")), seconds);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> newest{50};
  std::thread master([&] {
    for (int number = 51; !stop.load(); ++number) {
      workload::write_build(*store, shape, 0, number);
      newest = number;
    }
  });
  std::vector<double> hits, pages, stats;
  std::mt19937 random(1);
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  const auto timed = [](std::vector<double>& into, const auto& call) {
    const auto start = Clock::now();
    call();
    into.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  };
  while (Clock::now() < end) {
    const int number = newest.load() - static_cast<int>(random() % 100);
    timed(hits, [&] { store->build(builder, std::max(1, number)); });
    timed(pages, [&] { store->history(builder, {20, std::nullopt}); });
    timed(stats, [&] { store->stats(); });
  }
  stop = true;
  int status = 0;
  waitpid(child, &status, 0);
  master.join();
  store->flush();
  print_figures("lookup", hits);
  print_figures("page", pages);
  print_figures("stats", stats);
  std::printf("master wrote %d builds in %llu commits\n", newest.load() - 50,
              static_cast<unsigned long long>(store->stats().commits));
  return 0;
}

}  // namespace
}  // namespace buildhist::bench

int main(int argc, char** argv) {
  return buildhist::bench::run_main("contention_bench", buildhist::bench::main_bench, argc, argv);
}
