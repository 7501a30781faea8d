// The cache's invariants (DESIGN.md), each by name, each able to fail.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "buildhist/buildhist.h"
#include "cache/block_pool.h"
#include "cache/lru_list.h"
#include "cache/shard.h"
#include "doctest_include.h"
#include "store/store_access.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

constexpr int kSteps = 8;

// A finished build with kSteps steps, each with one stdio log of three lines.
void write_build(Store& store, const std::string& builder, int serial) {
  BuildStart start;
  start.worker = "worker-" + std::to_string(serial % 4);
  start.started_at = 1000 + serial * 60;
  start.properties = {{"got_revision", "\"rev" + std::to_string(serial) + "\"", "Git"}};
  auto build = store.start_build(builder, start);
  for (int s = 0; s < kSteps; ++s) {
    auto step = build->add_step("step" + std::to_string(s), start.started_at + s);
    step->add_url("log", "https://ci.invalid/" + std::to_string(serial));
    auto log = step->add_log("stdio", LogType::kStdio);
    log->append("hheader\noout\neerr\n");
    log->finish();
    step->finish(Results::kSuccess, start.started_at + s + 1);
  }
  build->finish(Results::kSuccess, start.started_at + kSteps);
}

struct Fixture {
  explicit Fixture(std::size_t capacity, int builds, const std::string& builder = "b") {
    Options options;
    options.cache_capacity = capacity;
    store = Store::open(dir.file("store.db"), options);
    for (int i = 1; i <= builds; ++i) write_build(*store, builder, i);
    store->flush();  // no write pins anything any more
  }

  void check_invariants() {
    for (const auto& shard : buildhist::internal::StoreAccess::shards(*store)) shard->check_invariants();
  }

  TempDir dir;
  std::unique_ptr<Store> store;
};

}  // namespace

TEST_CASE("1 bounded: resident builds stay within capacity") {
  Fixture f(4, 30);
  CacheStats stats = f.store->stats();
  CHECK(stats.resident_builds <= 4);
  CHECK(stats.live_builds <= 4);
  CHECK(stats.evictions >= 26);
  for (int n = 1; n <= 30; ++n) REQUIRE(f.store->build("b", n) != nullptr);
  stats = f.store->stats();
  CHECK(stats.live_builds <= 4);
  CHECK(stats.live_steps <= 4 * kSteps);
  CHECK(stats.live_logs <= 4 * kSteps);
  f.check_invariants();
}

TEST_CASE("1 bounded: pinned builds exceed the capacity and are never evicted") {
  Fixture f(4, 20);
  std::vector<std::shared_ptr<Build>> held;
  for (int n = 1; n <= 10; ++n) held.push_back(f.store->build("b", n));
  for (int n = 11; n <= 20; ++n) f.store->build("b", n);
  const CacheStats stats = f.store->stats();
  CHECK(stats.resident_builds <= 4);
  CHECK(stats.live_builds <= 4 + held.size());
  CHECK(stats.live_builds >= held.size());
  // Every pinned build is still the one a lookup returns.
  for (int n = 1; n <= 10; ++n) CHECK(f.store->build("b", n) == held[n - 1]);
  f.check_invariants();
}

TEST_CASE("1 bounded: the least recently used build is the one evicted") {
  Fixture f(3, 6);  // 4, 5 and 6 resident
  const auto misses = [&] { return f.store->stats().misses; };
  std::uint64_t before = misses();
  f.store->build("b", 4);  // now 4 is the most recently used, 5 the least
  f.store->build("b", 1);  // a miss: evicts 5
  CHECK(misses() == before + 1);
  before = misses();
  f.store->build("b", 4);
  f.store->build("b", 6);
  f.store->build("b", 1);
  CHECK(misses() == before);  // 4, 6 and 1 stayed resident
  f.store->build("b", 5);     // a miss: evicts 4, the least recently used
  CHECK(misses() == before + 1);
  before = misses();
  f.store->build("b", 4);
  CHECK(misses() == before + 1);
  f.check_invariants();
}

TEST_CASE("the LRU list keeps recency order and reuses freed slots") {
  internal::LruList<int> lru;
  const auto order = [&] {
    std::vector<int> values;
    lru.for_each([&](internal::LruList<int>::Slot slot, int value) {
      CHECK(lru.at(slot) == value);
      values.push_back(value);
    });
    return values;
  };
  const auto a = lru.push_front(1);
  const auto b = lru.push_front(2);
  const auto c = lru.push_front(3);
  CHECK(order() == std::vector<int>{3, 2, 1});
  lru.move_to_front(a);
  CHECK(order() == std::vector<int>{1, 3, 2});
  lru.move_to_front(a);  // already the front
  lru.move_to_front(b);
  CHECK(order() == std::vector<int>{2, 1, 3});
  CHECK(lru.back() == 3);
  CHECK(lru.pop_back() == 3);
  CHECK(lru.size() == 2);
  CHECK(lru.push_front(4) == c);  // the freed slot is used again
  CHECK(order() == std::vector<int>{4, 2, 1});
  CHECK(lru.take_all() == std::vector<int>{4, 2, 1});
  CHECK(lru.empty());
  lru.push_front(5);
  CHECK(order() == std::vector<int>{5});
}

TEST_CASE("the block pool hands out distinct aligned blocks, reuses freed ones, outlives its owner") {
  auto pool = std::make_shared<internal::BlockPool>();
  std::vector<void*> blocks;
  for (int i = 0; i < 300; ++i) {  // several chunks
    void* block = pool->allocate(200);
    REQUIRE(block != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(block) % alignof(std::max_align_t) == 0);
    std::memset(block, i & 0xff, 200);  // every byte is the caller's
    blocks.push_back(block);
  }
  std::vector<void*> sorted = blocks;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  for (int i = 0; i < 300; ++i) {
    CHECK(static_cast<unsigned char*>(blocks[i])[199] == (i & 0xff));  // no overlap
  }
  CHECK(pool->allocate(100) == nullptr);  // one size a pool
  CHECK(pool->owns_size(200));
  CHECK_FALSE(pool->owns_size(100));
  pool->deallocate(blocks[7]);
  CHECK(pool->allocate(200) == blocks[7]);
  for (void* block : blocks) pool->deallocate(block);

  // Objects made with the pool's allocator keep it alive: freeing the last of them
  // after the owner dropped the pool is still safe.
  std::weak_ptr<internal::BlockPool> watch = pool;
  auto object = std::allocate_shared<std::string>(internal::PoolAllocator<std::string>(pool),
                                                  std::string(100, 'x'));
  std::weak_ptr<std::string> weak = object;
  pool.reset();
  CHECK_FALSE(watch.expired());
  object.reset();
  CHECK_FALSE(watch.expired());  // the weak reference keeps the block, and so the pool
  weak.reset();
  CHECK(watch.expired());
}

TEST_CASE("2 no pinning by cycles: a held log keeps its log alive, not its build") {
  Fixture f(2, 10);
  const CacheStats baseline = f.store->stats();
  std::shared_ptr<Log> log = f.store->build("b", 1)->step(3)->log("stdio");
  for (int n = 5; n <= 10; ++n) f.store->build("b", n);  // build 1 leaves the LRU
  CacheStats stats = f.store->stats();
  CHECK(stats.live_builds == baseline.live_builds);
  CHECK(stats.live_steps == baseline.live_steps);
  CHECK(stats.live_logs == baseline.live_logs + 1);
  log.reset();
  stats = f.store->stats();
  CHECK(stats.live_builds == baseline.live_builds);
  CHECK(stats.live_steps == baseline.live_steps);
  CHECK(stats.live_logs == baseline.live_logs);
  f.check_invariants();
}

TEST_CASE("2 no pinning by cycles: refaulted parents are freed with their last child") {
  Fixture f(2, 10);
  const CacheStats baseline = f.store->stats();
  std::shared_ptr<Step> step = f.store->build("b", 2)->step(0);
  for (int n = 5; n <= 10; ++n) f.store->build("b", n);
  // Following the handle refaults build 2, which the LRU holds again; push it out.
  CHECK(step->build()->number() == 2);
  for (int n = 5; n <= 10; ++n) f.store->build("b", n);
  CHECK(f.store->stats().live_builds == baseline.live_builds);
  step.reset();
  const CacheStats stats = f.store->stats();
  CHECK(stats.live_builds == baseline.live_builds);
  CHECK(stats.live_steps == baseline.live_steps);
  CHECK(stats.live_logs == baseline.live_logs);
}

TEST_CASE("3 identity: every path to a key returns the one live object") {
  Fixture f(2, 10);
  std::shared_ptr<Build> build = f.store->build("b", 3);
  for (int n = 5; n <= 10; ++n) f.store->build("b", n);  // evicted, still held
  CHECK(f.store->build("b", 3) == build);
  CHECK(build->step(1)->build() == build);
  CHECK(build->step(1)->log("stdio")->step() == build->step(1));
  bool in_history = false;
  for (const auto& paged : f.store->history("b", {20, std::nullopt})) {
    if (paged->number() == 3) in_history = (paged == build);
  }
  CHECK(in_history);
  f.check_invariants();
}

TEST_CASE("3 identity: a refaulted build adopts the live log that refaulted it") {
  Fixture f(2, 10);
  std::shared_ptr<Log> log = f.store->build("b", 4)->step(5)->log("stdio");
  for (int n = 5; n <= 10; ++n) f.store->build("b", n);
  const std::uint64_t refaults = f.store->stats().refaults;
  std::shared_ptr<Build> refaulted = log->step()->build();
  CHECK(f.store->stats().refaults == refaults + 1);
  CHECK(refaulted->number() == 4);
  CHECK(refaulted->step(5)->log("stdio") == log);  // adopted, not copied
  CHECK(f.store->build("b", 4) == refaulted);
  f.check_invariants();
}

TEST_CASE("3 identity: held steps and logs of many evicted builds are adopted, through sweeps") {
  // Capacity 1 and 120 builds: the identity map is swept many times while the held
  // objects outlive their builds, and every reload must still find them.
  Fixture f(1, 120);
  std::vector<std::shared_ptr<Step>> steps;  // a step of every even build
  std::vector<std::shared_ptr<Log>> logs;    // a log of every odd build, its step let go
  for (int n = 1; n <= 120; ++n) {
    auto build = f.store->build("b", n);
    if (n % 2 == 0) {
      steps.push_back(build->step(n % kSteps));
    } else {
      logs.push_back(build->step(n % kSteps)->log("stdio"));
    }
  }
  f.check_invariants();
  for (int round = 0; round < 2; ++round) {
    for (int n = 1; n <= 120; ++n) {
      auto build = f.store->build("b", n);
      auto step = build->step(n % kSteps);
      if (n % 2 == 0) {
        CHECK(step == steps[(n - 1) / 2]);
        CHECK(step->build() == build);
      } else {
        CHECK(step->log("stdio") == logs[(n - 1) / 2]);
        CHECK(logs[(n - 1) / 2]->step() == step);
      }
    }
    f.check_invariants();
  }
  steps.clear();
  logs.clear();
  const CacheStats stats = f.store->stats();
  CHECK(stats.live_builds == 1);
  CHECK(stats.live_steps == kSteps);
  CHECK(stats.live_logs == kSteps);
}

TEST_CASE("4 refault is faithful: a refaulted build equals what was written") {
  Fixture f(1, 3);
  std::shared_ptr<Build> before = f.store->build("b", 2);
  const BuildRecord record = before->record();
  const auto properties = before->properties();
  std::vector<StepRecord> steps;
  std::vector<LogRecord> logs;
  for (const auto& step : before->steps()) {
    steps.push_back(step->record());
    for (const auto& log : step->logs()) logs.push_back(log->record());
  }
  before.reset();
  f.store->build("b", 3);  // evicts build 2; nothing holds it
  CHECK(f.store->stats().live_builds == 1);  // build 2 is gone from memory

  std::shared_ptr<Build> after = f.store->build("b", 2);
  CHECK(after->record() == record);
  CHECK(after->properties() == properties);
  std::vector<StepRecord> reloaded_steps;
  std::vector<LogRecord> reloaded_logs;
  for (const auto& step : after->steps()) {
    reloaded_steps.push_back(step->record());
    for (const auto& log : step->logs()) reloaded_logs.push_back(log->record());
  }
  CHECK(reloaded_steps == steps);
  CHECK(reloaded_logs == logs);
}

// Three queries (the row, its properties, its steps with their logs) in one read
// snapshot: BEGIN and COMMIT count too.
TEST_CASE("refault of a build with 8 steps and their logs costs 3 queries in one snapshot") {
  Fixture f(1, 3);
  f.store->build("b", 3);
  const std::uint64_t before = f.store->stats().sql_statements;
  auto build = f.store->build("b", 1);
  REQUIRE(build->steps().size() == kSteps);
  CHECK(f.store->stats().sql_statements - before <= 5);
}

TEST_CASE("5 single flight: concurrent misses on one key perform one load") {
  Fixture f(1, 3);  // build 1 is evicted, not live
  REQUIRE(f.store->stats().live_builds == 1);
  auto shard = buildhist::internal::StoreAccess::shards(*f.store).front();

  // The first load is held after reading its rows until every other lookup of
  // the key is waiting for it: the loads cannot help but overlap.
  constexpr int kThreads = 8;
  std::atomic<int> loads{0};
  shard->set_load_hook([&](int number) {
    if (number != 1 || loads.fetch_add(1) != 0) return;
    while (f.store->stats().in_flight_waits < kThreads - 1) std::this_thread::yield();
  });
  const CacheStats before = f.store->stats();
  std::latch start(kThreads);
  std::vector<std::shared_ptr<Build>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      results[t] = f.store->build("b", 1);
    });
  }
  for (auto& thread : threads) thread.join();
  shard->set_load_hook(nullptr);
  const CacheStats after = f.store->stats();
  CHECK(loads.load() == 1);
  CHECK(after.misses == before.misses + 1);
  CHECK(after.in_flight_waits == before.in_flight_waits + kThreads - 1);
  for (const auto& result : results) CHECK(result == results[0]);
  CHECK(results[0]->steps().size() == kSteps);
}

TEST_CASE("5 single flight: a failed load is not cached") {
  Fixture f(1, 3);
  f.store->build("b", 3);
  {
    SQLite::Database db(f.dir.file("store.db"), SQLite::OPEN_READWRITE);
    db.exec("UPDATE step SET urls = 'not json' WHERE number = 0 AND build_id = "
            "(SELECT id FROM build WHERE number = 1)");
  }
  CHECK_THROWS_AS(f.store->build("b", 1), Error);
  {
    SQLite::Database db(f.dir.file("store.db"), SQLite::OPEN_READWRITE);
    db.exec("UPDATE step SET urls = '[]' WHERE urls = 'not json'");
  }
  auto build = f.store->build("b", 1);  // repaired: loads now
  REQUIRE(build != nullptr);
  CHECK(build->steps().size() == kSteps);
  f.check_invariants();
}

TEST_CASE("6 no N+1: a history page costs the same few statements whatever its size") {
  Fixture f(0, 40);  // capacity 0: nothing resident, every page loads
  const auto statements_for = [&](int limit) {
    const std::uint64_t before = f.store->stats().sql_statements;
    const auto page = f.store->history("b", {limit, std::nullopt});
    CHECK(page.size() == static_cast<std::size_t>(limit));
    CHECK(page.front()->number() == 40);
    CHECK(page.back()->number() == 41 - limit);
    for (const auto& build : page) CHECK(build->steps().size() == kSteps);
    return f.store->stats().sql_statements - before;
  };
  const std::uint64_t small = statements_for(2);
  const std::uint64_t large = statements_for(20);
  CHECK(small <= 5);  // three queries in one snapshot, as a refault
  CHECK(large == small);
}

TEST_CASE("history pages by number: keyset pages concatenate to the whole history") {
  Fixture f(8, 25);
  std::vector<int> numbers;
  std::optional<int> before;
  for (;;) {
    const auto page = f.store->history("b", {7, before});
    if (page.empty()) break;
    for (const auto& build : page) numbers.push_back(build->number());
    before = page.back()->number();
  }
  std::vector<int> expected;
  for (int n = 25; n >= 1; --n) expected.push_back(n);
  CHECK(numbers == expected);
  CHECK(f.store->history("nobody").empty());
}

TEST_CASE("history includes running builds whose rows are not committed yet") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  auto build = store->start_build("b", BuildStart{"w", 1, "starting", {}, {}});
  const auto page = store->history("b");
  REQUIRE(page.size() == 1);
  CHECK(page[0] == build);
}

TEST_CASE("8 updates are seen through every reference and after a refault") {
  TempDir dir;
  Options options;
  options.cache_capacity = 1;
  auto store = Store::open(dir.file("store.db"), options);
  auto build = store->start_build("b", BuildStart{"w", 1, "starting", {}, {}});
  auto log = build->add_step("compile")->add_log("stdio", LogType::kStdio);
  auto step_by_name = build->step("compile");
  auto step_by_log = log->step();
  step_by_name->set_state_string("compiling 3/10");
  CHECK(step_by_log->record().state_string == "compiling 3/10");
  CHECK(store->build("b", 1)->step(0)->record().state_string == "compiling 3/10");

  build.reset();
  step_by_name.reset();
  step_by_log.reset();
  log.reset();
  store->start_build("b", BuildStart{"w", 2, "starting", {}, {}});  // evicts build 1
  store->flush();
  CHECK(store->stats().live_builds == 1);
  CHECK(store->build("b", 1)->step(0)->record().state_string == "compiling 3/10");
}

TEST_CASE("a build with writes not yet committed stays pinned by them") {
  TempDir dir;
  Options options;
  options.cache_capacity = 0;  // the LRU holds nothing: only the writes pin
  auto store = Store::open(dir.file("store.db"), options);
  store->start_build("b", BuildStart{"w", 1, "starting", {}, {}});
  store->flush();
  REQUIRE(store->stats().live_builds == 0);

  // Another process holds the write lock: nothing can be committed meanwhile.
  SQLite::Database other(dir.file("store.db"), SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  const Build* written = nullptr;
  {
    auto build = store->build("b", 1);
    build->set_state_string("queued");
    written = build.get();
  }
  // Nobody holds it, but its write does: the same object, with the write applied.
  CHECK(store->stats().live_builds == 1);
  CHECK(store->stats().queued_writes == 1);
  auto again = store->build("b", 1);
  CHECK(again.get() == written);
  CHECK(again->record().state_string == "queued");
  again.reset();
  other.exec("ROLLBACK");
  store->flush();
  CHECK(store->stats().live_builds == 0);
  CHECK(store->build("b", 1)->record().state_string == "queued");
}
