// buildhist simulate: a buildbot-like master on the reference workload, writing
// through the public API, then its throughput, peak RSS and cache figures.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <rapidjson/ostreamwrapper.h>
#include <rapidjson/writer.h>

#include "buildhist/store.h"
#include "cli.h"
#include "workload/workload.h"

namespace buildhist::cli {

namespace {

struct SimulateArgs {
  workload::Shape shape;
  std::size_t cache = 256;
  int threads = 2;
};

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Samples the cache's live builds while the master runs, and shows progress.
class Monitor {
 public:
  Monitor(Store& store, std::uint64_t total, bool progress)
      : store_(store), total_(total), progress_(progress), thread_([this] { run(); }) {}
  ~Monitor() { stop(); }

  void build_done() { done_.fetch_add(1, std::memory_order_relaxed); }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t peak_live_builds() const { return peak_live_builds_; }

 private:
  void run() {
    std::unique_lock lock(mu_);
    auto last_print = std::chrono::steady_clock::now();
    for (;;) {
      wake_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping_; });
      peak_live_builds_ = std::max(peak_live_builds_, store_.stats().live_builds);
      const auto now = std::chrono::steady_clock::now();
      if (progress_ && (stopping_ || now - last_print > std::chrono::milliseconds(500))) {
        last_print = now;
        std::fprintf(stderr, "\rsimulate: %llu/%llu builds",
                     static_cast<unsigned long long>(done_.load()),
                     static_cast<unsigned long long>(total_));
        if (stopping_) std::fputc('\n', stderr);
      }
      if (stopping_) return;
    }
  }

  Store& store_;
  const std::uint64_t total_;
  const bool progress_;
  std::atomic<std::uint64_t> done_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t peak_live_builds_ = 0;
  std::thread thread_;
};

struct Figure {
  const char* name;
  double value;
  int decimals;
};

void print_figures(const std::vector<Figure>& figures, bool json) {
  if (json) {
    rapidjson::OStreamWrapper out(std::cout);
    rapidjson::Writer<rapidjson::OStreamWrapper> writer(out);
    writer.StartObject();
    for (const Figure& figure : figures) {
      writer.Key(figure.name);
      if (figure.decimals == 0) {
        writer.Uint64(static_cast<std::uint64_t>(figure.value));
      } else {
        writer.Double(figure.value);
      }
    }
    writer.EndObject();
    std::cout << "\n";
    return;
  }
  std::size_t width = 0;
  for (const Figure& figure : figures) width = std::max(width, std::string(figure.name).size());
  for (const Figure& figure : figures) {
    std::printf("%-*s  %.*f\n", static_cast<int>(width), figure.name, figure.decimals,
                figure.value);
  }
}

int simulate(const Global& global, const SimulateArgs& args) {
  const workload::Shape& shape = args.shape;
  Options options;
  options.cache_capacity = args.cache;
  options.busy_timeout = std::chrono::milliseconds(global.busy_timeout_ms);
  auto store = Store::open(store_path(global), options);

  const int threads = std::max(1, std::min(args.threads, shape.builders));
  const std::uint64_t total =
      static_cast<std::uint64_t>(shape.builders) * static_cast<std::uint64_t>(shape.builds);
  std::atomic<std::uint64_t> lines{0};
  std::mutex error_mu;
  std::exception_ptr error;
  Monitor monitor(*store, total, show_progress(global));

  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> masters;
  for (int thread = 0; thread < threads; ++thread) {
    masters.emplace_back([&, thread] {
      try {
        std::uint64_t thread_lines = 0;
        // Interleaved: build n of every builder of this thread before build n+1.
        for (int number = 1; number <= shape.builds; ++number) {
          for (int builder = thread; builder < shape.builders; builder += threads) {
            thread_lines += workload::write_build(*store, shape, builder, number);
            monitor.build_done();
          }
          if (error) return;
        }
        lines += thread_lines;
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& master : masters) master.join();
  if (error) std::rethrow_exception(error);
  store->flush();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  monitor.stop();

  const CacheStats stats = store->stats();
  const double builds = static_cast<double>(total);
  const double steps = builds * shape.steps;
  const double log_lines = static_cast<double>(lines.load());
  print_figures(
      {
          {"builds", builds, 0},
          {"steps", steps, 0},
          {"log_lines", log_lines, 0},
          {"seconds", seconds, 3},
          {"builds_per_s", builds / seconds, 1},
          {"steps_per_s", steps / seconds, 1},
          {"log_lines_per_s", log_lines / seconds, 1},
          {"peak_rss_mib", peak_rss_mib(), 1},
          {"cache_capacity", static_cast<double>(args.cache), 0},
          {"hits", static_cast<double>(stats.hits), 0},
          {"misses", static_cast<double>(stats.misses), 0},
          {"refaults", static_cast<double>(stats.refaults), 0},
          {"evictions", static_cast<double>(stats.evictions), 0},
          {"resident_builds", static_cast<double>(stats.resident_builds), 0},
          {"live_builds", static_cast<double>(stats.live_builds), 0},
          {"peak_live_builds", static_cast<double>(monitor.peak_live_builds()), 0},
          {"live_steps", static_cast<double>(stats.live_steps), 0},
          {"live_logs", static_cast<double>(stats.live_logs), 0},
          {"sql_statements", static_cast<double>(stats.sql_statements), 0},
          {"commits", static_cast<double>(stats.commits), 0},
          {"writes", static_cast<double>(stats.writes), 0},
      },
      global.json);
  return kOk;
}

}  // namespace

void add_simulate(CLI::App& app, const Global& global, Command& command) {
  auto args = std::make_shared<SimulateArgs>();
  CLI::App* sub = app.add_subcommand(
      "simulate", "run a buildbot-like master on the reference workload into the store");
  sub->add_option("--builders", args->shape.builders, "builders")->check(CLI::Range(1, 100000));
  sub->add_option("--builds", args->shape.builds, "builds per builder")
      ->check(CLI::Range(1, 100000000));
  sub->add_option("--steps", args->shape.steps, "steps per build")->check(CLI::Range(0, 1000));
  sub->add_option("--log-lines", args->shape.log_lines, "lines in each step's log")
      ->check(CLI::Range(0, 10000000));
  sub->add_option("--appends", args->shape.appends, "pieces each log is appended in")
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--seed", args->shape.seed, "seed of the random choices");
  sub->add_option_function<std::string>(
         "--trends", [args](const std::string& spec) {
           try {
             workload::parse_trends(spec, args->shape);
           } catch (const std::invalid_argument& e) {
             throw CLI::ValidationError("--trends", e.what());
           }
         },
         "trends in the history: slowdown=BUILDS,flaky=P,regression=NUMBER (default: none)")
      ->type_name("SPEC");
  sub->add_option("--cache", args->cache, "cache capacity in builds per builder")
      ->check(CLI::Range(0, 10000000));
  sub->add_option("--durability", args->shape.durability,
                  "buffered (group commit, the default) or immediate (each build waits for "
                  "its own commit)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, Durability>{{"buffered", Durability::kBuffered},
                                            {"immediate", Durability::kImmediate}}));
  sub->add_option("--threads", args->threads, "master threads writing builds")
      ->check(CLI::Range(1, 256));
  sub->callback([&global, &command, args] {
    command = [&global, args] { return simulate(global, *args); };
  });
}

}  // namespace buildhist::cli
