// Invariant 7, durable: once flush() returns, the writes survive a crash of the
// process, and a crash never leaves a half-written build visible.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

constexpr int kSteps = 4;
constexpr int kLines = 30;

// One whole build, as the crashing child writes it.
void write_build(Store& store, int serial) {
  BuildStart start;
  start.worker = "w";
  start.started_at = 1000 + serial;
  auto build = store.start_build("crashy", start);
  for (int s = 0; s < kSteps; ++s) {
    auto step = build->add_step("step", 1000 + serial);
    auto log = step->add_log("stdio", LogType::kStdio);
    for (int line = 0; line < kLines; line += 3) {
      log->append("oline " + std::to_string(line) + "\noline " + std::to_string(line + 1) +
                  "\nesome " + std::to_string(line + 2) + "\n");
    }
    log->finish();
    step->finish(Results::kSuccess, 1001 + serial);
  }
  build->finish(Results::kSuccess, 1002 + serial);
}

// The child: writes and flushes `flushed` builds and reports 'F' on `report`; then
// keeps writing, reports 'C' once its writer has committed writes made after the
// flush (so the kill lands among unflushed writes, some of them committed), and
// goes on until it is killed.
[[noreturn]] void crashing_writer(const std::string& path, int flushed, int report) {
  try {
    Options options;
    options.max_batch = 200;  // several commits a build, so a kill can split one
    auto store = Store::open(path, options);
    for (int i = 0; i < flushed; ++i) write_build(*store, i);
    store->flush();
    const std::uint64_t flushed_writes = store->stats().writes;
    const char ready = 'F';
    if (write(report, &ready, 1) != 1) _exit(2);
    bool reported = false;
    for (int i = flushed;; ++i) {
      write_build(*store, i);
      if (!reported && store->stats().writes > flushed_writes + 400) {
        const char committed = 'C';
        if (write(report, &committed, 1) != 1) _exit(2);
        reported = true;
      }
    }
  } catch (...) {
    _exit(3);
  }
}

}  // namespace

TEST_CASE("flushed builds survive SIGKILL and nothing half-written is visible") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  constexpr int kFlushed = 40;

  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(pipe_fds[0]);
    crashing_writer(path, kFlushed, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  char ready = 0;
  REQUIRE(read(pipe_fds[0], &ready, 1) == 1);
  CHECK(ready == 'F');
  char committed = 0;
  REQUIRE(read(pipe_fds[0], &committed, 1) == 1);
  CHECK(committed == 'C');
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  close(pipe_fds[0]);

  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SQLite::Statement integrity(db, "PRAGMA integrity_check");
    REQUIRE(integrity.executeStep());
    CHECK(integrity.getColumn(0).getString() == "ok");
    SQLite::Statement foreign_keys(db, "PRAGMA foreign_key_check");
    CHECK_FALSE(foreign_keys.executeStep());
    // Every log's chunks cover lines 0..num_lines-1 exactly once.
    SQLite::Statement chunks(
        db,
        "SELECT count(*) FROM log l WHERE l.num_lines != "
        "(SELECT ifnull(sum(last_line - first_line + 1), 0) FROM log_chunk c WHERE c.log_id = l.id) "
        "OR l.num_lines != (SELECT ifnull(max(last_line) + 1, 0) FROM log_chunk c "
        "WHERE c.log_id = l.id)");
    REQUIRE(chunks.executeStep());
    CHECK(chunks.getColumn(0).getInt() == 0);
  }

  auto store = Store::open(path);
  int complete = 0;
  for (int number = 1;; ++number) {
    auto build = store->build("crashy", number);
    if (!build) {
      CHECK(number > kFlushed);  // every flushed build is there
      break;
    }
    const auto steps = build->steps();
    if (build->complete()) {
      ++complete;
      // A finished build is whole: every step finished with its whole log.
      REQUIRE(steps.size() == kSteps);
      for (const auto& step : steps) {
        CHECK(step->record().results == Results::kSuccess);
        REQUIRE(step->logs().size() == 1);
        CHECK(step->logs()[0]->record().complete);
        CHECK(step->logs()[0]->record().num_lines == kLines);
      }
    } else {
      // A build the crash interrupted shows a consistent prefix of its writes.
      for (std::size_t s = 0; s < steps.size(); ++s) {
        CHECK(steps[s]->number() == static_cast<int>(s));
        if (s + 1 < steps.size()) CHECK(steps[s]->record().complete_at.has_value());
      }
    }
  }
  // Every flushed build, and builds committed after the flush, before the kill.
  CHECK(complete > kFlushed);
  // The store is writable again after the crash, numbering on from what survived:
  // the dead child's hold on the builder's numbering is taken over.
  auto next = store->start_build("crashy", BuildStart{"w", 5000, "starting", {}, {}});
  CHECK(store->build("crashy", next->number() - 1) != nullptr);
}
