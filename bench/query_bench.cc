// The query side, issue 4's figures, on an existing store (make one with
// `buildhist simulate`; the is --builders 10 --builds 100000 --log-lines 2).
//
//  page:    the newest 20 builds of a random builder with their steps and logs, as
//           Store::history returns them: through a cache of capacity 0 (every page
//           loaded from SQLite), through a warm cache, and, for scale, by a plain
//           program with two raw prepared statements (the build rows, then their
//           steps and logs) reading the same columns. Median and p99 per page, and
//           SQL statements per page from CacheStats.
//  list:    `buildhist --json builds B --limit 0` as a process, its output drained
//           from a pipe: seconds, rows, and its peak RSS (wait4).
//  show:    `buildhist show B/N` of random builds as whole processes: wall time.
//  log:     History::find_log + read_log of the stdio log of random steps: MB/s of
//           log text; then one log of --big-log-lines lines written into a scratch
//           store and read back: the reader's streaming rate.
//
// The store's file is read once first (--warm 1), so that the figures are of SQLite
// and buildhist over the operating system's page cache, not of this machine's disk;
// --warm 0 measures from wherever the cache stands.
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "buildhist/buildhist.h"
#include "workload/workload.h"

namespace buildhist::bench {
namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

void print_us(const char* what, std::vector<double> us) {
  const double median = quantile(us, 0.5);
  const double p99 = quantile(us, 0.99);
  std::printf("  %-44s median %9.1f us  p99 %9.1f us  (n %zu)\n", what, median, p99, us.size());
}

struct ChildResult {
  int status = -1;
  double seconds = 0;
  double rss_mib = 0;
  std::uint64_t bytes = 0;  // of standard output
  std::uint64_t lines = 0;
};

// Runs `args` (no shell) with standard output to a pipe that is drained and counted.
ChildResult run_child(const std::vector<std::string>& args) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  const auto started = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  ChildResult result;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = read(out[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    result.bytes += static_cast<std::uint64_t>(n);
    for (ssize_t i = 0; i < n; ++i) result.lines += buffer[i] == '\n';
  }
  close(out[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  result.seconds = us_since(started) / 1e6;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  return result;
}

// The plain program the page is compared with: two prepared statements, the same
// columns, the rows copied into plain structs.
class RawPage {
 public:
  explicit RawPage(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      throw std::runtime_error("open " + path);
    }
    prepare("SELECT b.id, b.number, b.worker, b.started_at, b.complete_at, b.state_string, "
            "b.results FROM build b JOIN builder r ON r.id = b.builder_id WHERE r.name = ? "
            "ORDER BY b.number DESC LIMIT 20", &builds_);
    prepare("SELECT s.build_id, s.id, s.number, s.name, s.started_at, s.complete_at, "
            "s.state_string, s.results, s.urls, s.hidden, l.id, l.slug, l.name, l.type, "
            "l.num_lines, l.complete FROM step s LEFT JOIN log l ON l.step_id = s.id "
            "WHERE s.build_id IN (SELECT value FROM json_each(?)) ORDER BY s.build_id, s.number",
            &steps_);
  }
  ~RawPage() {
    sqlite3_finalize(builds_);
    sqlite3_finalize(steps_);
    sqlite3_close(db_);
  }

  // Returns the rows read.
  std::size_t page(const std::string& builder) {
    struct Row {
      std::int64_t id;
      int number;
      std::string worker, state;
    };
    std::vector<Row> builds;
    sqlite3_reset(builds_);
    sqlite3_bind_text(builds_, 1, builder.data(), static_cast<int>(builder.size()), SQLITE_STATIC);
    std::string ids = "[";
    while (sqlite3_step(builds_) == SQLITE_ROW) {
      builds.push_back(Row{sqlite3_column_int64(builds_, 0), sqlite3_column_int(builds_, 1),
                           text(builds_, 2), text(builds_, 5)});
      if (ids.size() > 1) ids += ",";
      ids += std::to_string(builds.back().id);
    }
    ids += "]";
    sqlite3_reset(steps_);
    sqlite3_bind_text(steps_, 1, ids.data(), static_cast<int>(ids.size()), SQLITE_STATIC);
    std::vector<std::string> names;
    while (sqlite3_step(steps_) == SQLITE_ROW) {
      names.push_back(text(steps_, 3) + text(steps_, 6) + text(steps_, 8) + text(steps_, 11));
    }
    return builds.size() + names.size();
  }

 private:
  void prepare(const char* sql, sqlite3_stmt** statement) {
    if (sqlite3_prepare_v2(db_, sql, -1, statement, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
  }
  static std::string text(sqlite3_stmt* statement, int column) {
    const auto* bytes = sqlite3_column_text(statement, column);
    return bytes ? reinterpret_cast<const char*>(bytes) : "";
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* builds_ = nullptr;
  sqlite3_stmt* steps_ = nullptr;
};

int main_bench(int argc, char** argv) {
  const Flags flags(argc, argv,
                    {{"db", ""},
                     {"bin", "build-release/src/cli/buildhist"},
                     {"pages", "1000"},
                     {"shows", "200"},
                     {"logs", "1000"},
                     {"big-log-lines", "1000000"},
                     {"seed", "7"},
                     {"warm", "1"}});
  const std::string path = flags.text("db");
  const std::string bin = flags.text("bin");
  if (path.empty()) {
    std::fprintf(stderr, "query_bench: --db STORE is required (make one with buildhist simulate)\n");
    return 2;
  }
  print_machine("query_bench");
  if (flags.integer("warm") != 0) {
    const auto start = Clock::now();
    std::uint64_t bytes = 0;
    for (const std::string& file : {path, path + "-wal"}) {
      if (FILE* in = std::fopen(file.c_str(), "rb")) {
        static char buffer[1 << 20];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof(buffer), in)) > 0;) bytes += n;
        std::fclose(in);
      }
    }
    std::printf("warm-up: read %.1f MiB of the store in %.1f s\n", static_cast<double>(bytes) / 1048576.0,
                us_since(start) / 1e6);
  }
  std::mt19937_64 random(static_cast<std::uint64_t>(flags.integer("seed")));

  Options read_only;
  read_only.read_only = true;
  std::vector<BuilderSummary> builders;
  {
    auto store = Store::open(path, read_only);
    History(*store).builders([&](const BuilderSummary& b) {
      builders.push_back(b);
      return true;
    });
  }
  std::int64_t total_builds = 0;
  for (const auto& b : builders) total_builds += b.builds;
  std::printf("store: %s, %zu builders, %lld builds, %.1f MiB\n\n", path.c_str(), builders.size(),
              static_cast<long long>(total_builds),
              static_cast<double>(file_bytes(path) + file_bytes(path + "-wal")) / 1048576.0);
  if (builders.empty()) return 1;
  const auto random_builder = [&]() -> const BuilderSummary& {
    return builders[random() % builders.size()];
  };

  std::printf("page: the newest 20 builds of a random builder, with steps and logs\n");
  const auto pages = static_cast<std::size_t>(flags.integer("pages"));
  for (const std::size_t capacity : {std::size_t{0}, std::size_t{256}}) {
    Options options = read_only;
    options.cache_capacity = capacity;
    auto store = Store::open(path, options);
    for (const auto& b : builders) store->history(b.name, HistoryPage{20, std::nullopt});  // shards, warm-up
    std::vector<double> us;
    const CacheStats before = store->stats();
    std::size_t rows = 0;
    for (std::size_t i = 0; i < pages; ++i) {
      const std::string& name = random_builder().name;
      const auto start = Clock::now();
      const auto page = store->history(name, HistoryPage{20, std::nullopt});
      for (const auto& build : page) rows += build->steps().size();
      us.push_back(us_since(start));
    }
    const CacheStats after = store->stats();
    const std::string what = "Store::history, cache capacity " + std::to_string(capacity);
    print_us(what.c_str(), us);
    std::printf("  %-44s %.2f statements/page, %.2f misses/page, %zu steps seen\n", "",
                static_cast<double>(after.sql_statements - before.sql_statements) /
                    static_cast<double>(pages),
                static_cast<double>(after.misses - before.misses) / static_cast<double>(pages),
                rows);
  }
  {
    RawPage raw(path);
    for (const auto& b : builders) raw.page(b.name);
    std::vector<double> us;
    for (std::size_t i = 0; i < pages; ++i) {
      const std::string& name = random_builder().name;
      const auto start = Clock::now();
      raw.page(name);
      us.push_back(us_since(start));
    }
    print_us("raw sqlite3, 2 prepared statements", us);
  }

  std::printf("\nlist: %s --json builds %s --limit 0 (a process, output drained from a pipe)\n",
              bin.c_str(), builders[0].name.c_str());
  for (int run = 0; run < 3; ++run) {
    const ChildResult list =
        run_child({bin, "--db", path, "--json", "builds", builders[0].name, "--limit", "0"});
    std::printf("  run %d: exit %d, %llu rows, %.1f MiB of JSON in %.3f s, peak RSS %.1f MiB\n",
                run, list.status, static_cast<unsigned long long>(list.lines),
                static_cast<double>(list.bytes) / 1048576.0, list.seconds, list.rss_mib);
  }

  std::printf("\nshow: %s show B/N of random builds, each a whole process\n", bin.c_str());
  {
    std::vector<double> us;
    std::vector<double> rss;
    const auto shows = static_cast<std::size_t>(flags.integer("shows"));
    for (std::size_t i = 0; i < shows; ++i) {
      const BuilderSummary& b = random_builder();
      const int number = 1 + static_cast<int>(random() % static_cast<std::uint64_t>(*b.newest));
      const std::string reference = escape_reference_part(b.name) + "/" + std::to_string(number);
      const ChildResult show = run_child({bin, "--db", path, "show", reference});
      if (show.status != 0) std::printf("  show %s: exit %d\n", reference.c_str(), show.status);
      us.push_back(show.seconds * 1e6);
      rss.push_back(show.rss_mib);
    }
    print_us("buildhist show (fork, exec, open, query, print)", us);
    std::printf("  %-44s peak RSS median %.1f MiB\n", "", quantile(rss, 0.5));
    std::vector<double> empty;
    for (std::size_t i = 0; i < 50; ++i) {
      const ChildResult help = run_child({"/bin/true"});
      empty.push_back(help.seconds * 1e6);
    }
    print_us("/bin/true (fork and exec alone)", empty);
  }

  std::printf("\nlog: the whole stdio log of random steps, History::find_log + read_log\n");
  {
    auto store = Store::open(path, read_only);
    History history(*store);
    const auto logs = static_cast<std::size_t>(flags.integer("logs"));
    std::uint64_t bytes = 0, lines = 0;
    const auto start = Clock::now();
    for (std::size_t i = 0; i < logs; ++i) {
      const BuilderSummary& b = random_builder();
      Reference reference{b.name,
                          1 + static_cast<int>(random() % static_cast<std::uint64_t>(*b.newest)),
                          StepSelector{static_cast<int>(random() % 8), {}}, "stdio"};
      const LogDetail log = history.find_log(reference);
      history.read_log(log, 0, 0, [&](const LogLine& line) {
        bytes += line.text.size() + 1;
        ++lines;
        return true;
      });
    }
    const double seconds = us_since(start) / 1e6;
    std::printf("  %zu logs, %llu lines, %.2f MiB in %.3f s: %.1f MB/s, %.1f us per log\n", logs,
                static_cast<unsigned long long>(lines), static_cast<double>(bytes) / 1048576.0,
                seconds, static_cast<double>(bytes) / 1e6 / seconds,
                seconds * 1e6 / static_cast<double>(logs));
  }
  {
    const std::string dir = temp_dir("query_bench");
    const std::string big = dir + "/big.db";
    const auto big_lines = flags.integer("big-log-lines");
    {
      auto store = Store::open(big);
      auto build = store->start_build("big", BuildStart{"worker-0", 1700000000, "building", {}, {}});
      auto log = build->add_step("test", 1700000000)->add_log("stdio", LogType::kStdio);
      workload::Shape shape;
      shape.log_lines = static_cast<int>(big_lines);
      shape.appends = std::max(1, shape.log_lines / 50);  // pieces of 50 lines, ~3.5 KiB
      for (const std::string& piece : workload::log_pieces(shape, 0, 1, 2)) log->append(piece);
      log->finish();
      store->flush();
    }
    auto store = Store::open(big, read_only);
    History history(*store);
    const LogDetail log = history.find_log(Reference{"big", 1, StepSelector{0, {}}, "stdio"});
    for (int run = 0; run < 3; ++run) {
      std::uint64_t bytes = 0;
      const auto start = Clock::now();
      history.read_log(log, 0, 0, [&](const LogLine& line) {
        bytes += line.text.size() + 1;
        return true;
      });
      const double seconds = us_since(start) / 1e6;
      std::printf("  one log of %lld lines (%.1f MiB, appended 50 lines at a time): %.1f MB/s\n",
                  static_cast<long long>(log.log.num_lines), static_cast<double>(bytes) / 1048576.0,
                  static_cast<double>(bytes) / 1e6 / seconds);
    }
    const ChildResult cli = run_child({bin, "--db", big, "log", "big/1/0/stdio"});
    std::printf("  %s log big/1/0/stdio to a pipe: exit %d, %.1f MiB in %.3f s: %.1f MB/s, "
                "peak RSS %.1f MiB\n",
                bin.c_str(), cli.status, static_cast<double>(cli.bytes) / 1048576.0, cli.seconds,
                static_cast<double>(cli.bytes) / 1e6 / cli.seconds, cli.rss_mib);
    remove_store(big);
    ::rmdir(dir.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace buildhist::bench

int main(int argc, char** argv) {
  return buildhist::bench::run_main("query_bench", buildhist::bench::main_bench, argc, argv);
}
