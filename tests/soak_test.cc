// Concurrency soak: a master process (`buildhist simulate`) writes the reference
// workload while query processes (builders, builds, show, log, find, stats, check)
// `buildhist compact` and `buildhist export` run in loops beside it, each until the master exits
// (never a sleep). Every query must answer (0, or 3 for a build not yet written),
// and at the end `check` passes and every build the master wrote is in the store,
// each log with exactly the text the workload gives for its seed.
//
// Size: $BUILDHIST_SOAK_BUILDS builds per builder (1500 unless set: well under a
// minute in the plain build; bench/soak.sh runs it longer).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"
#include "workload/workload.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

int soak_builds() {
  const char* value = std::getenv("BUILDHIST_SOAK_BUILDS");
  return value ? std::atoi(value) : 1500;
}

// Starts `buildhist args...` without waiting for it; returns its pid.
pid_t spawn_buildhist(const std::vector<std::string>& args) {
  std::vector<std::string> all = {buildhist::testing::buildhist_binary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("queries, compact and export beside a writing master: every answer clean, nothing lost") {
  TempDir dir;
  const std::string db = dir.file("soak.db");
  workload::Shape shape;
  shape.builders = 4;
  shape.builds = soak_builds();
  shape.steps = 4;
  shape.log_lines = 40;
  shape.appends = 4;
  shape.seed = 7;

  // The store exists before the queries start: a query never creates one.
  Store::open(db);
  const pid_t master = spawn_buildhist(
      {"--db", db, "simulate", "--builders", std::to_string(shape.builders), "--builds",
       std::to_string(shape.builds), "--steps", std::to_string(shape.steps), "--log-lines",
       std::to_string(shape.log_lines), "--appends", std::to_string(shape.appends), "--seed",
       std::to_string(shape.seed)});
  std::atomic<bool> master_done{false};
  std::atomic<int> queries{0}, compacts{0}, exports{0}, bad{0};
  std::vector<std::string> bad_answers;
  std::mutex bad_mu;
  const auto loop = [&](std::vector<std::vector<std::string>> commands, std::atomic<int>& count) {
    while (!master_done.load()) {
      for (auto args : commands) {
        args.insert(args.begin(), {"--db", db});
        const auto result = buildhist::testing::buildhist(args);
        ++count;
        if (result.status != 0 && result.status != 3) {
          std::lock_guard lock(bad_mu);
          ++bad;
          bad_answers.push_back(args[2] + " -> " + std::to_string(result.status) + ": " +
                                result.err);
        }
      }
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(loop,
                       std::vector<std::vector<std::string>>{
                           {"builders"}, {"builds", "builder-01", "--limit", "0"},
                           {"--json", "show", "builder-02/3"}, {"log", "builder-00/2/1/stdio"}},
                       std::ref(queries));
  threads.emplace_back(loop,
                       std::vector<std::vector<std::string>>{
                           {"find", "--property", "buildername=builder-03"}, {"stats"}, {"check"}},
                       std::ref(queries));
  threads.emplace_back(loop, std::vector<std::vector<std::string>>{{"compact"}},
                       std::ref(compacts));
  threads.emplace_back(loop,
                       std::vector<std::vector<std::string>>{
                           {"export", "builder-03"}, {"export", "--with-logs", "builder-02"}},
                       std::ref(exports));
  int status = 0;
  REQUIRE(waitpid(master, &status, 0) == master);
  master_done = true;
  for (auto& thread : threads) thread.join();
  MESSAGE(queries.load(), " queries, ", compacts.load(), " compacts and ", exports.load(),
          " exports beside the master");
  for (const auto& answer : bad_answers) INFO(answer);
  CHECK(bad.load() == 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(queries.load() > 0);
  CHECK(compacts.load() > 0);
  CHECK(exports.load() > 0);

  const auto check = buildhist::testing::buildhist({"--db", db, "check"});
  CHECK(check.status == 0);
  CHECK(buildhist::testing::buildhist({"--db", db, "compact"}).status == 0);

  Options options;
  options.read_only = true;
  auto store = Store::open(db, options);
  for (int b = 0; b < shape.builders; ++b) {
    const std::string builder = workload::builder_name(shape, b);
    for (int number = 1; number <= shape.builds; ++number) {
      CAPTURE(builder);
      CAPTURE(number);
      const workload::PlannedBuild planned = workload::plan_build(shape, b, number);
      auto build = store->build(builder, number);
      REQUIRE(build != nullptr);
      CHECK(build->record().results == planned.results);
      CHECK(build->properties() == planned.properties);
      const auto steps = build->steps();
      REQUIRE(steps.size() == planned.steps.size());
      for (int s = 0; s < shape.steps; ++s) {
        std::string expected;
        for (const auto& piece : workload::log_pieces(shape, b, number, s)) expected += piece;
        std::string text;
        steps[s]->log("stdio")->read(0, 0, [&](const LogLine& line) {
          text.append(line.text).push_back('\n');
          return true;
        });
        CHECK(text == expected);
      }
    }
  }
}
