// The writer: group commits that retry a locked store and lose nothing, a queue
// bounded by backpressure, and a failure that is sticky and commits nothing partial.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

std::shared_ptr<Build> write_build(Store& store, int serial) {
  auto build = store.start_build("b", BuildStart{"w", 1000 + serial, "building", {}, {}});
  auto log = build->add_step("compile", 1000 + serial)->add_log("stdio", LogType::kStdio);
  for (int line = 0; line < 5; ++line) log->append("oline " + std::to_string(line) + "\n");
  log->finish();
  build->step(0)->finish(Results::kSuccess, 1001 + serial);
  build->finish(Results::kSuccess, 1002 + serial);
  return build;
}

ErrorCode error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("no error was thrown");
  return ErrorCode::kIO;
}

}  // namespace

TEST_CASE("a commit that finds the store locked is tried again and loses nothing") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  Options options;
  options.busy_timeout = std::chrono::milliseconds(20);  // 20 tries: 400 ms
  auto store = Store::open(path, options);
  write_build(*store, 1);
  store->flush();

  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  write_build(*store, 2);
  while (store->stats().busy_retries == 0) std::this_thread::yield();
  other.exec("ROLLBACK");
  store->flush();
  auto reopened = Store::open(path);
  auto build = reopened->build("b", 2);
  REQUIRE(build != nullptr);
  CHECK(build->complete());
  CHECK(build->step(0)->log("stdio")->record().num_lines == 5);
}

TEST_CASE("backpressure: a master faster than the writer waits, the queue stays bounded") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  Options options;
  options.max_batch = 8;
  options.busy_timeout = std::chrono::milliseconds(1000);
  auto store = Store::open(path, options);
  write_build(*store, 1);
  store->flush();
  const std::uint64_t waits_before = store->stats().admission_waits;

  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  std::thread master([&] {
    for (int serial = 2; serial < 12; ++serial) write_build(*store, serial);
  });
  while (store->stats().admission_waits == waits_before) std::this_thread::yield();
  // Two batches queued, and the one the writer is trying to commit, which it
  // completes to the end of its last unit: the largest unit here is an append's
  // two writes (its chunk and the log's row), so one write more.
  constexpr std::uint64_t kLargestUnit = 2;
  CHECK(store->stats().queued_writes <= 3 * options.max_batch + kLargestUnit - 1);
  other.exec("ROLLBACK");
  master.join();
  store->flush();
  CHECK(store->stats().queued_writes == 0);
  for (int number = 1; number <= 11; ++number) CHECK(store->build("b", number)->complete());
}

TEST_CASE("backpressure by bytes: large appends wait, the log text queued stays bounded") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  Options options;
  options.max_batch_bytes = 1 << 20;
  options.busy_timeout = std::chrono::milliseconds(1000);
  auto store = Store::open(path, options);
  write_build(*store, 1);
  store->flush();
  const std::uint64_t waits_before = store->stats().admission_waits;

  // 64 appends of 256 KiB: a count of writes far below max_batch, 16 MiB of text.
  const std::string piece = [] {
    std::string text;
    while (text.size() < (256 << 10)) text += "o" + std::string(99, 'x') + "\n";
    return text;
  }();
  constexpr int kPieces = 64;
  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  std::atomic<bool> master_done{false};
  std::thread master([&] {
    auto build = store->start_build("b", BuildStart{"w", 2000, "building", {}, {}});
    auto log = build->add_step("big", 2000)->add_log("stdio", LogType::kStdio);
    for (int i = 0; i < kPieces; ++i) log->append(piece);
    log->finish();
    build->step(0)->finish(Results::kSuccess, 2001);
    build->finish(Results::kSuccess, 2002);
    master_done = true;
  });
  // Without a byte bound the master would queue everything and end: wait for
  // whichever comes first, then check it was the bound.
  while (store->stats().admission_waits == waits_before && !master_done) {
    std::this_thread::yield();
  }
  CHECK(store->stats().admission_waits > waits_before);
  // Two batches' worth queued; the batch the writer is committing is not counted.
  CHECK(store->stats().queued_bytes <= 2 * options.max_batch_bytes);
  other.exec("ROLLBACK");
  master.join();
  store->flush();
  CHECK(store->stats().queued_bytes == 0);
  const auto build = store->build("b", 2);
  REQUIRE(build != nullptr);
  const auto log = build->step(0)->logs().at(0);
  CHECK(log->record().num_lines ==
        static_cast<std::int64_t>(kPieces * std::count(piece.begin(), piece.end(), '\n')));
}

TEST_CASE("a failed commit is sticky and commits nothing of its batch") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  auto store = Store::open(path);
  write_build(*store, 1);
  store->flush();
  {
    // Another process damages the store under the writer: the builder's row goes,
    // so the next build's row breaks a foreign key at commit.
    SQLite::Database other(path, SQLite::OPEN_READWRITE);
    other.exec("PRAGMA foreign_keys = OFF");
    other.exec("DELETE FROM builder");
  }
  // The failure shows at the flush, or at a write of the build once it has happened.
  CHECK(error_of([&] {
          write_build(*store, 2);
          store->flush();
        }) == ErrorCode::kIO);
  // Sticky: every later write and flush says so.
  CHECK(error_of([&] { write_build(*store, 3); }) == ErrorCode::kIO);
  CHECK(error_of([&] { store->flush(); }) == ErrorCode::kIO);
  store.reset();
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT count(*) FROM build").getInt() == 1);
  CHECK(db.execAndGet("SELECT count(*) FROM step").getInt() == 1);
}
