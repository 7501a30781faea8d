// The core under contention: nothing waits while holding a lock another lookup
// needs, a page never materializes a build from rows older than its last write,
// and a partial log line is never lost to an eviction.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "buildhist/buildhist.h"
#include "cache/shard.h"
#include "doctest_include.h"
#include "store/store_access.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

void write_finished(Store& store, const std::string& builder, int serial) {
  auto build = store.start_build(builder, BuildStart{"w", 1000 + serial, "building", {}, {}});
  auto log = build->add_step("compile", 1000 + serial)->add_log("stdio", LogType::kStdio);
  log->append("oline\n");
  log->finish();
  build->step(0)->finish(Results::kSuccess, 1001 + serial);
  build->finish(Results::kSuccess, 1002 + serial);
}

std::vector<std::string> lines_of(const Log& log) {
  std::vector<std::string> lines;
  log.read(0, 0, [&](const LogLine& line) {
    lines.emplace_back(line.text);
    return true;
  });
  return lines;
}

}  // namespace

TEST_CASE("lookups, pages and stats answer while a master is blocked writing") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  Options options;
  options.max_batch = 10;  // the queue is full after 20 writes
  options.busy_timeout = std::chrono::milliseconds(2000);
  options.cache_capacity = 4;
  auto store = Store::open(path, options);
  for (int serial = 1; serial <= 3; ++serial) write_finished(*store, "b", serial);
  write_finished(*store, "other", 1);
  store->flush();

  // Another process holds the write lock: the writer cannot commit, its queue
  // fills, and the master thread blocks in its next write.
  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  std::atomic<bool> lock_released{false};
  const std::uint64_t waits_before = store->stats().admission_waits;
  constexpr int kMasterBuilds = 10;
  std::thread master([&] {
    for (int serial = 10; serial < 10 + kMasterBuilds; ++serial) write_finished(*store, "b", serial);
  });
  // Until the master waits for room in the writer's queue.
  while (store->stats().admission_waits == waits_before) std::this_thread::yield();

  // Each returns while the lock is still held: before the fix, the master held
  // the shard's mutex while it waited, and these waited for the lock to go.
  CHECK(store->build("b", 1) != nullptr);
  CHECK_FALSE(lock_released.load());
  CHECK(store->history("b", {3, std::nullopt}).size() == 3);
  CHECK(store->build("other", 1) != nullptr);
  CHECK(store->build("new-builder-lookup", 1) == nullptr);
  const CacheStats stats = store->stats();
  CHECK(stats.queued_writes >= options.max_batch);
  CHECK(stats.admission_waits == waits_before + 1);  // the master is still waiting
  CHECK_FALSE(lock_released.load());

  lock_released = true;
  other.exec("ROLLBACK");
  master.join();
  store->flush();
  for (int serial = 10; serial < 10 + kMasterBuilds; ++serial) {
    const int number = serial - 6;  // builds 4 .. 13
    auto build = store->build("b", number);
    REQUIRE(build != nullptr);
    CHECK(build->record().started_at == 1000 + serial);
    CHECK(build->complete());
  }
}

TEST_CASE("a page returns a build's last write, even when it lands while the page reads") {
  TempDir dir;
  Options options;
  options.cache_capacity = 1;
  auto store = Store::open(dir.file("store.db"), options);
  write_finished(*store, "b", 1);
  write_finished(*store, "b", 2);
  store->start_build("b", BuildStart{"w", 1003, "building", {}, {}});  // build 3 runs
  store->flush();
  REQUIRE(store->stats().live_builds == 1);  // build 3, by the LRU alone

  // After the page has read its rows (build 3 running) and before it enters them:
  // build 3 finishes, is committed, is evicted and is dropped by everyone else.
  auto shard = buildhist::internal::StoreAccess::shards(*store).front();
  bool done = false;
  shard->set_load_hook([&](int number) {
    if (number != 0 || done) return;
    done = true;
    {
      auto running = store->build("b", 3);
      running->finish(Results::kFailure, 1010);
    }
    store->start_build("b", BuildStart{"w", 1011, "building", {}, {}});  // evicts 3
    store->flush();
  });
  const auto page = store->history("b", {3, 3 + 1});
  shard->set_load_hook(nullptr);
  REQUIRE(done);
  REQUIRE(page.size() == 3);
  CHECK(page[0]->number() == 3);
  CHECK(page[0]->complete());
  CHECK(page[0]->record().results == Results::kFailure);
  CHECK(store->build("b", 3) == page[0]);  // and it is the one live build 3
}

TEST_CASE("a partial log line is kept until it is written, whoever holds the log") {
  TempDir dir;
  Options options;
  options.cache_capacity = 1;
  auto store = Store::open(dir.file("store.db"), options);
  {
    auto build = store->start_build("b", BuildStart{"w", 1, "building", {}, {}});
    build->add_step("compile", 1)->add_log("stdio", LogType::kStdio)->append("ohalf a li");
  }
  // Build 2 evicts build 1 from the LRU, and nobody outside holds it.
  store->start_build("b", BuildStart{"w", 2, "building", {}, {}});
  store->flush();
  auto log = store->build("b", 1)->step(0)->log("stdio");
  log->append("ne\n");
  log->finish();
  CHECK(lines_of(*log) == std::vector<std::string>{"ohalf a line"});
  // Once written, it pins nothing: build 1 goes when its last holder does.
  log.reset();
  store->start_build("b", BuildStart{"w", 3, "building", {}, {}});
  store->flush();
  CHECK(store->stats().live_builds == 1);
}
