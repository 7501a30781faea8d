// trends_bench: `buildhist trends` (one builder) and `buildhist flaky` (the whole
// store) timed as processes, as a user runs them, on stores of growing size made by
// `buildhist simulate` with trends in them; with each run's peak RSS.
//
//   trends_bench [--builders 10] [--sizes 1000,10000] [--runs 5] [--dir DIR]
//
// --sizes are builds per builder: 1000,10000 is 10k and 100k builds in all with 10
// builders. A store already in --dir from an earlier run of the same size is reused.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

#include "bench_util.h"

namespace buildhist::bench {

namespace {

struct Run {
  double ms = 0;
  double peak_rss_mib = 0;
};

// Runs the command with its standard output to /dev/null; throws unless it exits 0.
Run run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::fflush(stdout);  // or the child would write what is buffered again
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    if (std::freopen("/dev/null", "w", stdout) == nullptr) _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (pid < 0 || wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    throw std::runtime_error("failed: " + args[0] + " " + args[1] + " " + args[2] + " " + args[3]);
  }
  const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
  return Run{elapsed.count(), static_cast<double>(usage.ru_maxrss) / 1024.0};
}

void measure(const char* what, const std::vector<std::string>& args, int runs, long long builds) {
  std::vector<double> times;
  double rss = 0;
  for (int i = 0; i < runs; ++i) {
    const Run result = run(args);
    times.push_back(result.ms);
    rss = std::max(rss, result.peak_rss_mib);
  }
  const double median = quantile(times, 0.5);
  const double worst = quantile(times, 1.0);
  std::printf("%-7s builds %8lld  median %9.1f ms  max %9.1f ms  peak RSS %6.1f MiB\n", what,
              builds, median, worst, rss);
}

int body(int argc, char** argv) {
  const Flags flags(argc, argv,
                    {{"builders", "10"}, {"sizes", "1000,10000"}, {"runs", "5"}, {"dir", ""}});
  const std::string binary = BUILDHIST_BIN;
  const std::string dir = flags.text("dir").empty() ? temp_dir("trends_bench") : flags.text("dir");
  const std::string builders = flags.text("builders");
  const int runs = static_cast<int>(flags.integer("runs"));
  print_machine("trends_bench");
  std::stringstream sizes(flags.text("sizes"));
  for (std::string size; std::getline(sizes, size, ',');) {
    const long long builds = std::stoll(builders) * std::stoll(size);
    const std::string db = dir + "/store-" + builders + "x" + size + ".db";
    if (file_bytes(db) == 0) {
      const auto start = std::chrono::steady_clock::now();
      run({binary, "--db", db, "simulate", "--builders", builders, "--builds", size,
           "--log-lines", "2", "--appends", "1", "--trends",
           "slowdown=" + std::to_string(std::max(1LL, std::stoll(size) / 100)) +
               ",flaky=0.1,regression=" + std::to_string(std::stoll(size) * 3 / 4)});
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      std::printf("store   builds %8lld  written in %.1f s, %.1f MiB\n", builds, took.count(),
                  static_cast<double>(file_bytes(db)) / 1048576.0);
    }
    measure("trends", {binary, "--db", db, "--json", "trends", "builder-00"}, runs, builds);
    measure("trends1", {binary, "--db", db, "--json", "trends", "builder-00", "--step", "compile"},
            runs, builds);
    measure("flaky", {binary, "--db", db, "--json", "flaky"}, runs, builds);
  }
  return 0;
}

}  // namespace

}  // namespace buildhist::bench

int main(int argc, char** argv) {
  return buildhist::bench::run_main("trends_bench", buildhist::bench::body, argc, argv);
}
