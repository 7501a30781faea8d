// Many threads at once: a master writing builds while readers look up, follow
// parent handles, page history, and hold and drop references. At the end every
// invariant holds and nothing is left alive that nobody holds.
#include <atomic>
#include <cassert>
#include <random>
#include <thread>
#include <vector>

#include "buildhist/buildhist.h"
#include "cache/shard.h"
#include "doctest_include.h"
#include "store/store_access.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

constexpr int kBuilders = 2;
constexpr int kBuildsPerBuilder = 150;
constexpr int kReaders = 3;
constexpr int kReaderRounds = 3000;
constexpr int kSteps = 4;

std::string builder_name(int index) { return "stress-" + std::to_string(index); }

void master(Store& store, std::atomic<int>& written) {
  for (int n = 1; n <= kBuildsPerBuilder; ++n) {
    for (int b = 0; b < kBuilders; ++b) {
      auto build = store.start_build(builder_name(b), BuildStart{"w", n, "starting", {}, {}});
      for (int s = 0; s < kSteps; ++s) {
        auto step = build->add_step("s", n);
        auto log = step->add_log("stdio", LogType::kStdio);
        log->append("oone\notwo\n");
        log->finish();
        step->set_state_string("done " + std::to_string(n));
        step->finish(Results::kSuccess, n + 1);
      }
      build->finish(Results::kSuccess, n + 1);
    }
    written.store(n, std::memory_order_release);
    written.notify_all();
  }
}

void reader(Store& store, const std::atomic<int>& written, unsigned seed, int& failures) {
  std::mt19937 random(seed);
  std::vector<std::shared_ptr<Build>> held_builds;
  std::vector<std::shared_ptr<Log>> held_logs;
  // Every round looks something up: wait for the first build (on a loaded
  // machine the rounds could otherwise all pass before it is written).
  written.wait(0, std::memory_order_acquire);
  for (int round = 0; round < kReaderRounds; ++round) {
    const int newest = written.load(std::memory_order_acquire);
    assert(newest > 0);
    const std::string builder = builder_name(static_cast<int>(random() % kBuilders));
    const int number = 1 + static_cast<int>(random() % static_cast<unsigned>(newest));
    auto build = store.build(builder, number);
    if (!build || build->number() != number) ++failures;
    if (!build) continue;
    switch (random() % 6) {
      case 0:
        held_builds.push_back(build);
        break;
      case 1:
        if (auto log = build->step(static_cast<int>(random() % kSteps))->log("stdio")) {
          held_logs.push_back(log);
        }
        break;
      case 2:
        if (!held_logs.empty()) {
          // Following handles from a held log reaches the one live build for its key.
          auto& log = held_logs[random() % held_logs.size()];
          auto parent = log->step()->build();
          if (parent != store.build(builder_name(0), parent->number()) &&
              parent != store.build(builder_name(1), parent->number())) {
            ++failures;
          }
        }
        break;
      case 3:
        for (const auto& paged : store.history(builder, {5, number + 1})) {
          if (paged->number() == number && paged != build) ++failures;
        }
        break;
      case 4:
        if (!held_builds.empty()) held_builds.erase(held_builds.begin());
        if (!held_logs.empty()) held_logs.erase(held_logs.begin());
        break;
      default:
        for (const auto& held : held_builds) {
          if (store.build(held->builder(), held->number()) != held) ++failures;
        }
        break;
    }
    if (held_builds.size() > 20) held_builds.clear();
    if (held_logs.size() > 20) held_logs.clear();
  }
}

}  // namespace

TEST_CASE("threads writing, reading, following handles and dropping keep every invariant") {
  TempDir dir;
  Options options;
  options.cache_capacity = 8;
  auto store = Store::open(dir.file("store.db"), options);

  std::atomic<int> written{0};
  std::vector<int> failures(kReaders, 0);
  std::vector<std::thread> threads;
  threads.emplace_back([&] { master(*store, written); });
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] { reader(*store, written, 1234u + r, failures[r]); });
  }
  for (auto& thread : threads) thread.join();
  for (int r = 0; r < kReaders; ++r) CHECK(failures[r] == 0);

  store->flush();
  for (const auto& shard : buildhist::internal::StoreAccess::shards(*store)) shard->check_invariants();
  // Nobody holds anything now: what is alive is exactly what the LRUs hold.
  const CacheStats stats = store->stats();
  CHECK(stats.resident_builds <= kBuilders * 8);
  CHECK(stats.live_builds == stats.resident_builds);
  CHECK(stats.live_steps == stats.resident_builds * kSteps);
  CHECK(stats.live_logs == stats.resident_builds * kSteps);
  CHECK(stats.hits + stats.misses > 0);

  // And what was written is all there, read back by number.
  for (int b = 0; b < kBuilders; ++b) {
    auto last = store->build(builder_name(b), kBuildsPerBuilder);
    REQUIRE(last != nullptr);
    CHECK(last->step(kSteps - 1)->record().state_string ==
          "done " + std::to_string(kBuildsPerBuilder));
  }
}
