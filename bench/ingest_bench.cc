// Ingest of the reference workload (WORKLOAD.md), issue 2's figure.
//
// Sides, each run in a child process of its own (so that its peak RSS is its own),
// alternated run by run so that a change in the machine's load hits them alike:
//  - buildhist: the workload written through the public API by master threads,
//    exactly as `buildhist simulate` writes it (workload::write_build), default
//    durability; timed from the open store to the return of flush().
//  - buildhist with another cache capacity (--compare-cache; -1 leaves it out):
//    the cost of the cache in the write path.
//  - raw: the same rows (builder, build, build_property, step, log, log_chunk: one
//    chunk per append, codec 0) in the same schema (made by Store::open), written
//    with plain prepared INSERTs, WAL, synchronous=NORMAL, foreign keys on, one
//    transaction per --raw-batch builds: the limit SQLite sets on this machine.
//    Each batch's content is generated before the clock runs, so only SQLite is
//    timed (buildhist's masters generate it on the clock, as a master would).
//  - generate: only the workload's content, on one thread, written nowhere: how
//    much of the masters' work is not buildhist's.
// Then it checks that the last buildhist store and the last raw store hold the same
// rows (by natural keys, all columns but row ids), and prints medians and ratios.
// Each run's line also shows the child's CPU time (user and sys, all threads) and its
// commits: on a machine with few cores, buildhist's writer and masters compete for
// them, and the CPU time tells that apart from waiting. --max-batch sets
// Options::max_batch (0: the library's default), to see what commit size costs.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <iostream>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "bench_util.h"
#include "buildhist/buildhist.h"
#include "workload/workload.h"

namespace buildhist::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  double seconds = 0;
  double rss_mib = 0;  // the child's peak RSS, filled in by the parent
  double user_s = 0;   // the child's CPU time (all its threads), filled in by the parent
  double sys_s = 0;
  std::uint64_t builds = 0;
  std::uint64_t steps = 0;
  std::uint64_t lines = 0;
  std::int64_t db_bytes = 0;   // before close, so the WAL is as the writer left it
  std::int64_t wal_bytes = 0;
  std::uint64_t commits = 0;
  std::uint64_t statements = 0;
  bool ok = false;
  char error[200] = {};
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result run_buildhist(const std::string& path, const workload::Shape& shape, std::size_t cache,
                     int threads, std::size_t max_batch) {
  Options options;
  options.cache_capacity = cache;
  if (max_batch > 0) options.max_batch = max_batch;  // 0: the library's default
  auto store = Store::open(path, options);
  threads = std::max(1, std::min(threads, shape.builders));
  std::atomic<std::uint64_t> lines{0};
  std::exception_ptr error;
  std::atomic<bool> failed{false};

  const auto started = Clock::now();
  std::vector<std::thread> masters;
  for (int thread = 0; thread < threads; ++thread) {
    masters.emplace_back([&, thread] {
      try {
        std::uint64_t thread_lines = 0;
        // As simulate: build n of every builder of this thread before build n+1.
        for (int number = 1; number <= shape.builds && !failed; ++number) {
          for (int builder = thread; builder < shape.builders; builder += threads) {
            thread_lines += workload::write_build(*store, shape, builder, number);
          }
        }
        lines += thread_lines;
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
    });
  }
  for (auto& master : masters) master.join();
  if (error) std::rethrow_exception(error);
  store->flush();
  Result result;
  result.seconds = seconds_since(started);
  const CacheStats stats = store->stats();
  result.builds = static_cast<std::uint64_t>(shape.builders) * static_cast<std::uint64_t>(shape.builds);
  result.steps = result.builds * static_cast<std::uint64_t>(shape.steps);
  result.lines = lines;
  result.commits = stats.commits;
  result.statements = stats.sql_statements;
  result.db_bytes = file_bytes(path);
  result.wal_bytes = file_bytes(path + "-wal");
  return result;
}

std::uint64_t count_lines(const std::string& text) {
  return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

// The rows simulate leaves behind, in their final state, written as plainly as
// SQLite allows.
Result run_raw(const std::string& path, const workload::Shape& shape, int batch_builds,
               int autocheckpoint) {
  Store::open(path).reset();  // the same schema, made by the library
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  if (autocheckpoint >= 0) db.exec("PRAGMA wal_autocheckpoint = " + std::to_string(autocheckpoint));

  SQLite::Statement insert_builder(db, "INSERT INTO builder (id, name) VALUES (?, ?)");
  SQLite::Statement insert_build(
      db,
      "INSERT INTO build (id, builder_id, number, worker, started_at, complete_at, "
      "state_string, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  SQLite::Statement insert_property(
      db, "INSERT INTO build_property (build_id, name, value, source) VALUES (?, ?, ?, ?)");
  SQLite::Statement insert_step(
      db,
      "INSERT INTO step (id, build_id, number, name, started_at, complete_at, state_string, "
      "results, urls, hidden) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '[]', 0)");
  SQLite::Statement insert_log(
      db,
      "INSERT INTO log (id, step_id, slug, name, type, num_lines, complete) "
      "VALUES (?, ?, 'stdio', 'stdio', 's', ?, 1)");
  SQLite::Statement insert_chunk(
      db,
      "INSERT INTO log_chunk (log_id, first_line, last_line, codec, raw_bytes, content) "
      "VALUES (?, ?, ?, 0, ?, ?)");
  const auto run = [](SQLite::Statement& statement) {
    statement.exec();
    statement.reset();
  };

  // A batch of builds, generated before the clock runs: only SQLite is timed.
  struct Planned {
    int builder = 0;
    workload::PlannedBuild plan;
    std::vector<std::vector<std::string>> pieces;  // per step
  };
  std::vector<Planned> batch;
  const auto insert_build_rows = [&](const Planned& planned, std::int64_t build_id,
                                     std::int64_t& step_id, std::int64_t& log_id,
                                     std::uint64_t& lines) {
    const workload::PlannedBuild& plan = planned.plan;
    insert_build.bind(1, build_id);
    insert_build.bind(2, static_cast<std::int64_t>(planned.builder + 1));
    insert_build.bind(3, plan.number);
    insert_build.bind(4, plan.worker);
    insert_build.bind(5, static_cast<std::int64_t>(plan.started_at));
    insert_build.bind(6, static_cast<std::int64_t>(plan.complete_at));
    insert_build.bind(7, std::string(results_name(plan.results)));
    insert_build.bind(8, static_cast<int>(plan.results));
    run(insert_build);
    for (const Property& property : plan.properties) {
      insert_property.bind(1, build_id);
      insert_property.bind(2, property.name);
      insert_property.bind(3, property.value);
      insert_property.bind(4, property.source);
      run(insert_property);
    }
    for (std::size_t index = 0; index < plan.steps.size(); ++index) {
      const workload::PlannedStep& step = plan.steps[index];
      insert_step.bind(1, ++step_id);
      insert_step.bind(2, build_id);
      insert_step.bind(3, static_cast<int>(index));
      insert_step.bind(4, step.name);
      insert_step.bind(5, static_cast<std::int64_t>(step.started_at));
      insert_step.bind(6, static_cast<std::int64_t>(step.complete_at));
      insert_step.bind(7, std::string(results_name(step.results)));
      insert_step.bind(8, static_cast<int>(step.results));
      run(insert_step);
      std::int64_t line = 0;
      ++log_id;
      for (const std::string& piece : planned.pieces[index]) {
        const auto count = static_cast<std::int64_t>(count_lines(piece));
        if (count == 0) continue;
        insert_chunk.bind(1, log_id);
        insert_chunk.bind(2, line);
        insert_chunk.bind(3, line + count - 1);
        insert_chunk.bind(4, static_cast<std::int64_t>(piece.size()));
        insert_chunk.bindNoCopy(5, piece.data(), static_cast<int>(piece.size()));
        run(insert_chunk);
        line += count;
      }
      insert_log.bind(1, log_id);
      insert_log.bind(2, step_id);
      insert_log.bind(3, line);
      run(insert_log);
      lines += static_cast<std::uint64_t>(line);
    }
  };

  Result result;
  Clock::duration timed{};
  std::int64_t build_id = 0, step_id = 0, log_id = 0;
  const auto total = static_cast<std::int64_t>(shape.builders) * shape.builds;
  for (std::int64_t first = 0; first < total; first += batch_builds) {
    batch.clear();
    // Interleaved, as simulate writes: build n of every builder before build n+1.
    for (std::int64_t i = first; i < std::min<std::int64_t>(total, first + batch_builds); ++i) {
      Planned planned;
      planned.builder = static_cast<int>(i % shape.builders);
      const int number = static_cast<int>(i / shape.builders) + 1;
      planned.plan = workload::plan_build(shape, planned.builder, number);
      for (int step = 0; step < shape.steps; ++step) {
        planned.pieces.push_back(workload::log_pieces(shape, planned.builder, number, step));
      }
      batch.push_back(std::move(planned));
    }
    const auto started = Clock::now();
    SQLite::Transaction transaction(db);
    if (first == 0) {
      for (int builder = 0; builder < shape.builders; ++builder) {
        insert_builder.bind(1, static_cast<std::int64_t>(builder + 1));
        insert_builder.bind(2, workload::builder_name(shape, builder));
        run(insert_builder);
      }
    }
    for (const Planned& planned : batch) {
      insert_build_rows(planned, ++build_id, step_id, log_id, result.lines);
    }
    transaction.commit();
    ++result.commits;
    timed += Clock::now() - started;
  }
  result.seconds = std::chrono::duration<double>(timed).count();
  result.builds = static_cast<std::uint64_t>(shape.builders) * static_cast<std::uint64_t>(shape.builds);
  result.steps = result.builds * static_cast<std::uint64_t>(shape.steps);
  result.db_bytes = file_bytes(path);
  result.wal_bytes = file_bytes(path + "-wal");
  return result;
}

// The workload's content alone: what every side spends before storage begins.
Result run_generate(const workload::Shape& shape) {
  Result result;
  const auto started = Clock::now();
  std::uint64_t bytes = 0;
  for (int number = 1; number <= shape.builds; ++number) {
    for (int builder = 0; builder < shape.builders; ++builder) {
      const workload::PlannedBuild plan = workload::plan_build(shape, builder, number);
      bytes += plan.worker.size();
      for (std::size_t index = 0; index < plan.steps.size(); ++index) {
        for (const std::string& piece :
             workload::log_pieces(shape, builder, number, static_cast<int>(index))) {
          result.lines += count_lines(piece);
          bytes += piece.size();
        }
      }
    }
  }
  result.seconds = seconds_since(started);
  result.builds = static_cast<std::uint64_t>(shape.builders) * static_cast<std::uint64_t>(shape.builds);
  result.steps = result.builds * static_cast<std::uint64_t>(shape.steps);
  if (bytes == 0) result.lines = 0;  // keeps the loop from being optimized away
  return result;
}

// Runs `side` in a child process; its Result comes back through a pipe, its peak
// RSS from wait4().
Result in_child(const std::function<Result()>& side) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    close(fds[0]);
    Result result;
    try {
      result = side();
      result.ok = true;
    } catch (const std::exception& e) {
      std::snprintf(result.error, sizeof(result.error), "%s", e.what());
    }
    const ssize_t written = write(fds[1], &result, sizeof(result));
    _exit(written == static_cast<ssize_t>(sizeof(result)) ? 0 : 1);
  }
  close(fds[1]);
  Result result;
  std::size_t got = 0;
  while (got < sizeof(result)) {
    const ssize_t n = read(fds[0], reinterpret_cast<char*>(&result) + got, sizeof(result) - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  if (got != sizeof(result)) {
    std::snprintf(result.error, sizeof(result.error), "child died (status %d)", status);
    result.ok = false;
  }
  result.rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  const auto seconds_of = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  result.user_s = seconds_of(usage.ru_utime);
  result.sys_s = seconds_of(usage.ru_stime);
  return result;
}

// Rows of each table by natural key, every column but row ids, in `db`.
std::vector<std::pair<std::string, std::string>> natural_rows(const std::string& db) {
  const std::string build = db + ".build b JOIN " + db + ".builder r ON r.id = b.builder_id";
  const std::string step = build + " JOIN " + db + ".step s ON s.build_id = b.id";
  const std::string log = step + " JOIN " + db + ".log l ON l.step_id = s.id";
  return {
      {"builder", "SELECT name FROM " + db + ".builder"},
      {"build",
       "SELECT r.name, b.number, b.worker, b.started_at, b.complete_at, b.state_string, "
       "b.results FROM " + build},
      {"build_property",
       "SELECT r.name, b.number, p.name, p.value, p.source FROM " + build + " JOIN " + db +
           ".build_property p ON p.build_id = b.id"},
      {"step",
       "SELECT r.name, b.number, s.number, s.name, s.started_at, s.complete_at, "
       "s.state_string, s.results, s.urls, s.hidden FROM " + step},
      {"log",
       "SELECT r.name, b.number, s.number, l.slug, l.name, l.type, l.num_lines, l.complete "
       "FROM " + log},
      {"log_chunk",
       "SELECT r.name, b.number, s.number, l.slug, c.first_line, c.last_line, c.codec, "
       "c.raw_bytes, c.content FROM " + log + " JOIN " + db + ".log_chunk c ON c.log_id = l.id"},
  };
}

// True when both stores hold the same rows; prints a line per table.
bool same_rows(const std::string& buildhist_path, const std::string& raw_path) {
  SQLite::Database db(buildhist_path, SQLite::OPEN_READONLY);
  db.exec("ATTACH DATABASE '" + raw_path + "' AS raw");
  const auto ours = natural_rows("main");
  const auto theirs = natural_rows("raw");
  bool same = true;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const auto count = [&](const std::string& sql) {
      return db.execAndGet("SELECT count(*) FROM (" + sql + ")").getInt64();
    };
    const std::int64_t rows = count(ours[i].second);
    const std::int64_t raw_rows = count(theirs[i].second);
    const std::int64_t only_ours = count(ours[i].second + " EXCEPT " + theirs[i].second);
    const std::int64_t only_raw = count(theirs[i].second + " EXCEPT " + ours[i].second);
    const bool table_same = rows == raw_rows && only_ours == 0 && only_raw == 0;
    same = same && table_same;
    std::printf("  %-15s %9lld rows vs %9lld: %s\n", ours[i].first.c_str(),
                static_cast<long long>(rows), static_cast<long long>(raw_rows),
                table_same ? "identical" : "DIFFERENT");
  }
  return same;
}

struct Side {
  std::string name;
  std::function<Result(const std::string& path)> run;
  std::vector<Result> results;
};

void print_result(const std::string& name, int run, const Result& r) {
  if (!r.ok) {
    std::printf("  run %d %-20s FAILED: %s\n", run, name.c_str(), r.error);
    return;
  }
  std::printf("  run %d %-20s %7.3f s  %8.0f builds/s  %9.0f steps/s  %10.0f lines/s  "
              "peak RSS %6.1f MiB  db %7.1f MiB + WAL %7.1f MiB  "
              "CPU user %6.2f s sys %5.2f s  commits %llu\n",
              run, name.c_str(), r.seconds, static_cast<double>(r.builds) / r.seconds,
              static_cast<double>(r.steps) / r.seconds, static_cast<double>(r.lines) / r.seconds,
              r.rss_mib, static_cast<double>(r.db_bytes) / 1048576.0,
              static_cast<double>(r.wal_bytes) / 1048576.0, r.user_s, r.sys_s,
              static_cast<unsigned long long>(r.commits));
}

int main_bench(int argc, char** argv) {
  const Flags flags(argc, argv,
                    {{"builders", "10"},
                     {"builds", "1000"},
                     {"steps", "8"},
                     {"log-lines", "50"},
                     {"appends", "5"},
                     {"seed", "1"},
                     {"threads", "2"},
                     {"max-batch", "0"},
                     {"cache", "256"},
                     {"compare-cache", "0"},
                     {"raw-batch", "1000"},
                     {"durability", "buffered"},
                     {"raw-autocheckpoint", "-1"},
                     {"runs", "3"},
                     {"verify", "1"},
                     {"dir", ""}});
  workload::Shape shape = workload_shape(flags);
  if (flags.text("durability") == "immediate") {
    shape.durability = Durability::kImmediate;  // each build waits for its own commit
  } else if (flags.text("durability") != "buffered") {
    throw std::runtime_error("--durability is buffered or immediate");
  }
  const int threads = static_cast<int>(flags.integer("threads"));
  const auto max_batch = static_cast<std::size_t>(std::max(0LL, flags.integer("max-batch")));
  const auto cache = static_cast<std::size_t>(flags.integer("cache"));
  const long long compare_cache = flags.integer("compare-cache");
  const int raw_batch = static_cast<int>(std::max(1LL, flags.integer("raw-batch")));
  const int autocheckpoint = static_cast<int>(flags.integer("raw-autocheckpoint"));
  const int runs = static_cast<int>(std::max(1LL, flags.integer("runs")));
  const std::string dir = flags.text("dir").empty() ? temp_dir("ingest_bench") : flags.text("dir");

  print_machine("ingest_bench");
  std::printf("workload: %d builders x %d builds, %d steps, %d log lines in %d appends, seed %llu\n",
              shape.builders, shape.builds, shape.steps, shape.log_lines, shape.appends,
              static_cast<unsigned long long>(shape.seed));
  std::printf("buildhist: %d master threads, durability %s (synchronous=NORMAL), max_batch %s\n",
              threads,
              shape.durability == Durability::kImmediate ? "immediate (a commit per build)"
                                                         : "buffered (group commit)",
              max_batch == 0 ? "the library's default" : std::to_string(max_batch).c_str());
  std::printf("raw: one transaction per %d builds, WAL, synchronous=NORMAL, foreign keys on, "
              "wal_autocheckpoint %s\n",
              raw_batch, autocheckpoint < 0 ? "SQLite's default" : std::to_string(autocheckpoint).c_str());
  std::printf("stores in %s; %d runs per side, alternated; medians below\n\n", dir.c_str(), runs);

  const std::string buildhist_name = "buildhist cache " + std::to_string(cache);
  std::vector<Side> sides;
  sides.push_back({buildhist_name, [&](const std::string& path) {
                     return run_buildhist(path, shape, cache, threads, max_batch);
                   }, {}});
  if (compare_cache >= 0) {
    const auto other = static_cast<std::size_t>(compare_cache);
    sides.push_back({"buildhist cache " + std::to_string(other),
                     [&, other](const std::string& path) {
                       return run_buildhist(path, shape, other, threads, max_batch);
                     }, {}});
  }
  sides.push_back({"raw SQLite", [&](const std::string& path) {
                     return run_raw(path, shape, raw_batch, autocheckpoint);
                   }, {}});
  sides.push_back({"generate only", [&](const std::string&) { return run_generate(shape); }, {}});

  // Each side writes its own file; the last run's stores of the first buildhist
  // side and of raw stay for the check.
  const auto path_of = [&](std::size_t side) { return dir + "/side" + std::to_string(side) + ".db"; };
  const std::size_t raw_side = compare_cache >= 0 ? 2 : 1;
  for (int run = 1; run <= runs; ++run) {
    for (std::size_t i = 0; i < sides.size(); ++i) {
      const std::string path = path_of(i);
      remove_store(path);
      sides[i].results.push_back(in_child([&] { return sides[i].run(path); }));
      print_result(sides[i].name, run, sides[i].results.back());
      if (run < runs || (i != 0 && i != raw_side)) remove_store(path);
    }
  }

  bool identical = true;
  if (flags.integer("verify") != 0) {
    std::printf("\nsame rows in the last buildhist store and the last raw store:\n");
    identical = same_rows(path_of(0), path_of(raw_side));
  }
  remove_store(path_of(0));
  remove_store(path_of(raw_side));
  if (flags.text("dir").empty()) rmdir(dir.c_str());

  std::printf("\nmedians of %d runs:\n", runs);
  std::printf("  %-20s %9s %10s %11s %13s %13s\n", "side", "seconds", "builds/s", "steps/s",
              "log lines/s", "peak RSS MiB");
  std::map<std::string, double> median_seconds;
  for (Side& side : sides) {
    std::vector<double> seconds, rss;
    const Result* any = nullptr;
    for (const Result& r : side.results) {
      if (!r.ok) continue;
      seconds.push_back(r.seconds);
      rss.push_back(r.rss_mib);
      any = &r;
    }
    if (any == nullptr) {
      std::printf("  %-20s no successful run\n", side.name.c_str());
      continue;
    }
    const double s = quantile(seconds, 0.5);
    median_seconds[side.name] = s;
    std::printf("  %-20s %9.3f %10.0f %11.0f %13.0f %13.1f\n", side.name.c_str(), s,
                static_cast<double>(any->builds) / s, static_cast<double>(any->steps) / s,
                static_cast<double>(any->lines) / s, quantile(rss, 0.5));
  }

  std::printf("\n");
  if (median_seconds.count(buildhist_name) && median_seconds.count("raw SQLite")) {
    const double ratio = median_seconds["raw SQLite"] / median_seconds[buildhist_name];
    std::printf("buildhist / raw (builds/s, steps/s and log lines/s alike): %.2f  "
                "(goal >= 0.50: %s)\n",
                ratio, ratio >= 0.50 ? "met" : "MISSED");
  }
  if (compare_cache >= 0) {
    const std::string other = "buildhist cache " + std::to_string(compare_cache);
    if (median_seconds.count(other) && median_seconds.count(buildhist_name)) {
      std::printf("buildhist cache %zu / cache %lld (builds/s): %.2f  (within 10%%: %s)\n", cache,
                  compare_cache, median_seconds[other] / median_seconds[buildhist_name],
                  median_seconds[other] / median_seconds[buildhist_name] >= 0.90 ? "yes" : "NO");
    }
  }
  if (!identical) std::printf("WARNING: the two stores do not hold the same rows\n");
  return identical ? 0 : 1;
}

}  // namespace
}  // namespace buildhist::bench

int main(int argc, char** argv) {
  return buildhist::bench::run_main("ingest_bench", buildhist::bench::main_bench, argc, argv);
}
