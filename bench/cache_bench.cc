// The status-object cache, issue 3's figures.
//
//  hit:     Store::build(builder, number) of a resident build: per-lookup median
//           and p99 (each lookup timed alone, the timer's own cost shown beside),
//           and the mean over one untimed loop.
//  miss:    Store::build of a build that is not alive (cache capacity 1 per
//           builder, so the previous lookup's build was evicted and freed):
//           a load by key, counted in CacheStats::misses.
//  refault: a log is held, its build evicted and freed; time log->step()->build(),
//           which reloads the build through the log's weak handle and adopts the
//           held log (counted in CacheStats::refaults). The refaulted build is
//           checked to hold the same log object.
// SQL statements per operation come from CacheStats::sql_statements deltas.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.h"
#include "buildhist/buildhist.h"
#include "workload/workload.h"

namespace buildhist::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ns_between(Clock::time_point a, Clock::time_point b) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

struct Key {
  int builder;
  int number;
};

void print_times(const char* what, std::vector<double> ns, double scale, const char* unit) {
  const double median = quantile(ns, 0.5) / scale;
  const double p90 = quantile(ns, 0.9) / scale;
  const double p99 = quantile(ns, 0.99) / scale;
  const double max = ns.empty() ? 0 : ns.back() / scale;
  std::printf("  %-34s n %8zu  median %8.2f %s  p90 %8.2f %s  p99 %8.2f %s  max %9.2f %s\n", what,
              ns.size(), median, unit, p90, unit, p99, unit, max, unit);
}

void print_statements(const char* what, std::vector<double> statements) {
  if (statements.empty()) return;
  const double median = quantile(statements, 0.5);
  std::printf("  %-34s median %.0f  min %.0f  max %.0f\n", what, median, statements.front(),
              statements.back());
}

int main_bench(int argc, char** argv) {
  const Flags flags(argc, argv,
                    {{"builders", "10"},
                     {"builds", "1000"},
                     {"steps", "8"},
                     {"log-lines", "2"},
                     {"appends", "2"},
                     {"lookups", "1000000"},
                     {"refaults", "5000"},
                     {"seed", "1"},
                     {"dir", ""}});
  const workload::Shape shape = workload_shape(flags);
  if (shape.steps < 1 || shape.builds < 2) {
    throw std::invalid_argument("--steps must be at least 1 and --builds at least 2: a refault "
                                "holds a step's log of a build other than the first");
  }
  const auto lookups = static_cast<std::size_t>(flags.integer("lookups"));
  const auto refaults = static_cast<std::size_t>(flags.integer("refaults"));
  const bool own_dir = flags.text("dir").empty();
  const std::string dir = own_dir ? temp_dir("cache_bench") : flags.text("dir");
  const std::string path = dir + "/cache.db";
  remove_store(path);

  print_machine("cache_bench");
  std::printf("store: %d builders x %d builds, %d steps, %d log lines; %zu hit lookups, "
              "%zu misses and %zu refaults\n\n",
              shape.builders, shape.builds, shape.steps, shape.log_lines, lookups, refaults,
              refaults);

  std::vector<std::string> names;
  for (int b = 0; b < shape.builders; ++b) names.push_back(workload::builder_name(shape, b));
  std::mt19937_64 random(42);
  const auto random_key = [&] {
    return Key{static_cast<int>(random() % static_cast<std::uint64_t>(shape.builders)),
               1 + static_cast<int>(random() % static_cast<std::uint64_t>(shape.builds))};
  };

  // (a) Hits: every build resident (capacity = builds per builder).
  {
    Options options;
    options.cache_capacity = static_cast<std::size_t>(shape.builds);
    auto store = Store::open(path, options);
    for (int number = 1; number <= shape.builds; ++number) {
      for (int builder = 0; builder < shape.builders; ++builder) {
        workload::write_build(*store, shape, builder, number);
      }
    }
    store->flush();
    const CacheStats written = store->stats();
    std::printf("hit, random keys over every resident build (resident builds: %llu of %llu live)\n",
                static_cast<unsigned long long>(written.resident_builds),
                static_cast<unsigned long long>(written.live_builds));

    std::vector<Key> keys(lookups);
    for (Key& key : keys) key = random_key();
    const auto lookup = [&](const Key& key) {
      return store->build(names[static_cast<std::size_t>(key.builder)], key.number)->number();
    };
    long long sink = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(lookups, 100000); ++i) sink += lookup(keys[i]);

    std::vector<double> timer(lookups);
    for (double& t : timer) {
      const auto a = Clock::now();
      const auto b = Clock::now();
      t = ns_between(a, b);
    }
    const CacheStats before = store->stats();
    std::vector<double> ns(lookups);
    for (std::size_t i = 0; i < lookups; ++i) {
      const auto a = Clock::now();
      sink += lookup(keys[i]);
      const auto b = Clock::now();
      ns[i] = ns_between(a, b);
    }
    const auto loop_start = Clock::now();
    for (const Key& key : keys) sink += lookup(key);
    const double loop_ns = ns_between(loop_start, Clock::now()) / static_cast<double>(lookups);
    const CacheStats after = store->stats();
    // The path's own cost, without memory latency: one key, always in the CPU's caches.
    std::vector<double> same_ns(lookups);
    for (std::size_t i = 0; i < lookups; ++i) {
      const auto a = Clock::now();
      sink += lookup(keys[0]);
      const auto b = Clock::now();
      same_ns[i] = ns_between(a, b);
    }
    const auto same_start = Clock::now();
    for (std::size_t i = 0; i < lookups; ++i) sink += lookup(keys[0]);
    const double same_loop_ns = ns_between(same_start, Clock::now()) / static_cast<double>(lookups);

    print_times("Store::build, hit (timed alone)", ns, 1.0, "ns");
    std::printf("  %-34s %.1f ns per lookup (no per-lookup timer)\n", "Store::build, hit, loop mean",
                loop_ns);
    print_times("same, always one key (timed alone)", same_ns, 1.0, "ns");
    std::printf("  %-34s %.1f ns per lookup (no per-lookup timer)\n", "same, always one key, loop mean",
                same_loop_ns);
    print_times("the timer alone (now() twice)", timer, 1.0, "ns");
    std::printf("  stats over both random passes: hits +%llu, misses +%llu, SQL statements +%llu "
                "(checksum %lld)\n\n",
                static_cast<unsigned long long>(after.hits - before.hits),
                static_cast<unsigned long long>(after.misses - before.misses),
                static_cast<unsigned long long>(after.sql_statements - before.sql_statements),
                sink % 1000);
  }

  // (b) and (c): capacity 1, so each builder keeps one build resident.
  Options options;
  options.cache_capacity = 1;
  auto store = Store::open(path, options);
  std::vector<int> resident(static_cast<std::size_t>(shape.builders), 0);
  // A key whose build is not alive: not the one its builder keeps resident.
  const auto cold_key = [&] {
    for (;;) {
      const Key key = random_key();
      if (resident[static_cast<std::size_t>(key.builder)] != key.number) return key;
    }
  };
  const auto get = [&](const Key& key) {
    auto build = store->build(names[static_cast<std::size_t>(key.builder)], key.number);
    resident[static_cast<std::size_t>(key.builder)] = key.number;
    return build;
  };

  {
    std::vector<double> us, statements;
    std::uint64_t not_misses = 0;
    for (std::size_t i = 0; i < refaults + 200; ++i) {
      const Key key = cold_key();
      const CacheStats before = store->stats();
      const auto a = Clock::now();
      get(key).reset();
      const auto b = Clock::now();
      const CacheStats after = store->stats();
      if (i < 200) continue;  // warm-up: reader connections, SQLite's page cache
      us.push_back(ns_between(a, b));
      statements.push_back(static_cast<double>(after.sql_statements - before.sql_statements));
      if (after.misses - before.misses != 1) ++not_misses;
    }
    std::printf("miss (load by key: build row, properties, steps with logs; capacity 1)\n");
    print_times("Store::build, miss", us, 1000.0, "us");
    print_statements("SQL statements per miss", statements);
    std::printf("  lookups that were not exactly one miss: %llu\n\n",
                static_cast<unsigned long long>(not_misses));
  }

  {
    // Hold the stdio log of one step of many distinct builds (not number 1). As the
    // next build of its builder is loaded, each build is evicted (capacity 1) and
    // freed, its held log staying alive alone. Loading build 1 of every builder
    // evicts the last ones. Then refault them in random order, so that no build's
    // pages were read just before its refault.
    const int log_step = std::min(3, shape.steps - 1);
    std::vector<Key> keys;
    for (int builder = 0; builder < shape.builders; ++builder) {
      for (int number = 2; number <= shape.builds; ++number) keys.push_back(Key{builder, number});
    }
    std::shuffle(keys.begin(), keys.end(), random);
    keys.resize(std::min(keys.size(), refaults + 200));
    std::vector<std::shared_ptr<Log>> held;
    held.reserve(keys.size());
    for (const Key& key : keys) held.push_back(get(key)->step(log_step)->log("stdio"));
    for (int builder = 0; builder < shape.builders; ++builder) get(Key{builder, 1}).reset();
    const CacheStats holding = store->stats();

    std::vector<double> us, statements;
    std::uint64_t not_refaults = 0, not_adopted = 0;
    for (std::size_t i = 0; i < held.size(); ++i) {
      const CacheStats before = store->stats();
      const auto a = Clock::now();
      std::shared_ptr<Build> build = held[i]->step()->build();
      const auto b = Clock::now();
      const CacheStats after = store->stats();
      if (build->step(log_step)->log("stdio") != held[i]) ++not_adopted;
      if (i < 200) continue;  // warm-up: reader connections
      us.push_back(ns_between(a, b));
      statements.push_back(static_cast<double>(after.sql_statements - before.sql_statements));
      if (after.refaults - before.refaults != 1) ++not_refaults;
    }
    std::printf("refault (held log -> step() -> build() after the build was evicted and freed;\n"
                "  %zu logs held, live builds before the refaults: %llu)\n",
                held.size(), static_cast<unsigned long long>(holding.live_builds));
    print_times("log->step()->build(), refault", us, 1000.0, "us");
    print_statements("SQL statements per refault", statements);
    std::printf("  operations that were not exactly one refault: %llu; refaulted builds not "
                "holding the held log: %llu\n",
                static_cast<unsigned long long>(not_refaults),
                static_cast<unsigned long long>(not_adopted));
  }

  const CacheStats end = store->stats();
  std::printf("\nat the end: live builds %llu, steps %llu, logs %llu (capacity 1 x %d builders)\n",
              static_cast<unsigned long long>(end.live_builds),
              static_cast<unsigned long long>(end.live_steps),
              static_cast<unsigned long long>(end.live_logs), shape.builders);
  std::printf("\ntargets (issue 3): hit median <= 200 ns; refault median <= 50 us with <= 3 "
              "statements\n");
  store.reset();
  remove_store(path);
  if (own_dir) rmdir(dir.c_str());
  return 0;
}

}  // namespace
}  // namespace buildhist::bench

int main(int argc, char** argv) {
  return buildhist::bench::run_main("cache_bench", buildhist::bench::main_bench, argc, argv);
}
