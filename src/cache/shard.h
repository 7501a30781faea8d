// One builder's shard of the status-object cache.
//
// A shard holds the builder's recently used builds in an LRU list of strong
// references, and an identity map from key to weak reference for every build,
// step and log object of the builder that is still alive, whoever holds it.
//
// Invariants, with `mu` the shard mutex (sync()->mu), which guards the shard and
// every status object of the builder:
//
//  1. lru_ is the only strong reference the cache holds, and it holds at most
//     capacity_ builds, most recently used first. Resident builds, those alive in
//     builds_, number at most capacity_ plus those pinned from outside (by callers,
//     or by writes not yet committed). Nothing still referenced is ever evicted:
//     eviction drops lru_'s reference and nothing else.
//  2. A build is in lru_ iff its builds_ entry has an lru_slot, and then that slot
//     holds it.
//  3. builds_ maps a build number to the one live build with that number, if any,
//     and holds weak references to every step and log made for that number that
//     may still be alive (its children). Expired references are garbage: never
//     handed out, replaced when the build is loaded again, and swept by
//     prune_locked() before builds_ grows past twice its size after the last sweep.
//  4. No object refers to its parent strongly: a Step's build_ and a Log's step_
//     are weak. So when the last outside reference to an evicted build, or to any
//     object under it, is dropped, everything under the build is freed.
//  5. A build being loaded has a future in loading_ and exactly one thread loading
//     it; every other lookup of that number waits for the same result. A failed
//     load leaves no entry behind and caches nothing.
//  6. A build loaded while some of its steps or logs are alive adopts them, and
//     they point back to it: one object per key at every level.
//  7. pinned_ holds, strongly, each build one of whose logs holds a partial line
//     not yet written, so that line cannot be lost by eviction; its count is the
//     number of such logs.
//  8. numbering_ is kHeld only while this process holds the builder's numbering
//     in the store (sql/numbering.h); then last_number_ is the builder's largest
//     number, and start() numbers in memory. Otherwise builds are numbered by the
//     database.
//
// Lock order: mu, then the write queue's mutex. Nothing here waits for SQLite or
// another thread while holding mu: loads, admissions and numbering run outside it,
// loads bracketed by loading_.
#ifndef BUILDHIST_CACHE_SHARD_H_
#define BUILDHIST_CACHE_SHARD_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/container/flat_map.hpp>

#include "buildhist/stats.h"
#include "buildhist/status.h"
#include "buildhist/store.h"
#include "cache/block_pool.h"
#include "cache/engine.h"
#include "cache/lru_list.h"
#include "sql/numbering.h"
#include "sql/status_reader.h"
#include "sql/status_writer.h"
#include "status/owner.h"
#include "status/shard_sync.h"

namespace buildhist::internal {

class Shard final : public StatusOwner, public std::enable_shared_from_this<Shard> {
 public:
  // `engine` must outlive the shard. `numbering`: what the store said when the
  // shard was made (nullopt: not asked yet, asked at the first start()).
  Shard(Engine& engine, std::string builder, std::int64_t builder_id, int last_number,
        std::optional<Numbering> numbering, std::size_t capacity);
  ~Shard();

  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  const std::shared_ptr<ShardSync>& sync() const noexcept { return sync_; }
  const std::string& builder() const noexcept { return sync_->builder; }
  std::int64_t builder_id() const noexcept { return builder_id_; }

  // The build `number`: the live object, or loaded once (single flight) and cached.
  // nullptr when the store has no such build. Throws Error when the load fails.
  std::shared_ptr<Build> get(int number, Via via) override;

  // A page of builds through the cache in a constant number of statements.
  std::vector<std::shared_ptr<Build>> page(const HistoryPage& page);

  // A new build numbered after the builder's last one (or start.number), queued for
  // writing. REQUIRES: no lock held (it may wait for the writer or the numbering).
  std::shared_ptr<Build> start(const BuildStart& start, Durability durability);

  // Another process asked for this builder's numbering: stop numbering in memory
  // and queue the release behind the builds already numbered. From the writer's
  // thread; REQUIRES: no lock held.
  void hand_over_numbering(const std::string& holder);

  // StatusOwner.
  Admission admit(std::size_t writes, std::size_t bytes) override;
  std::uint64_t enqueue_locked(Admission& admission, std::span<RowWrite> writes,
                               const std::shared_ptr<const Build>& build) override;
  void settle(std::uint64_t sequence, Durability durability) override;
  void wait_committed(std::uint64_t sequence) override;
  void add_step_locked(const std::shared_ptr<Step>& step) override;
  void add_log_locked(const std::shared_ptr<Log>& log) override;
  void pin_locked(const std::shared_ptr<Build>& build) override;
  void unpin_locked(int build_number) override;
  void read_log(std::int64_t log_id, std::int64_t from, std::int64_t limit,
                const std::function<bool(const LogLine&)>& sink) override;

  void add_stats(CacheStats& stats) const;

  // Checks every invariant above, walking the whole shard; aborts on a breach.
  // For tests: operations check only what they touch.
  void check_invariants() const;

  // Drops the LRU's references and the pins (on close); returns them so the caller
  // frees them outside mu.
  std::vector<std::shared_ptr<Build>> release_resident();

  // For tests: called by a load after it has read its rows and before it enters
  // them into the cache, with no lock held (so a test can hold a load in flight):
  // with the build's number from get(), with 0 from page().
  void set_load_hook(std::function<void(int number)> hook);

 private:
  using Lru = LruList<std::shared_ptr<Build>>;
  // The steps and logs made for one build number, by weak reference: what a
  // reload of the build adopts. Kept with the build's entry rather than in maps of
  // their own, so that a load costs one lookup, not one per child.
  struct Children {
    std::vector<std::weak_ptr<Step>> steps;
    std::vector<std::weak_ptr<Log>> logs;
  };
  struct BuildEntry {
    std::weak_ptr<Build> build;
    Lru::Slot lru_slot = Lru::kNoSlot;  // kNoSlot: not in the LRU
    std::unique_ptr<Children> children;  // made with the first child
  };
  using Evicted = std::vector<std::shared_ptr<Build>>;  // freed outside mu
  using BuildMap = boost::container::flat_map<int, BuildEntry>;

  // builds_'s entry for `number`, or builds_.end(). REQUIRES: mu held.
  BuildMap::iterator find_entry_locked(int number);
  // The children of the live build `number`. REQUIRES: mu held.
  Children& children_locked(int number);

  // The live build, moved to the LRU's front; nullptr if none. REQUIRES: mu held.
  std::shared_ptr<Build> find_live_locked(int number, Evicted& evicted);
  // Enters `build` into builds_ and the LRU's front. REQUIRES: mu held.
  void insert_locked(const std::shared_ptr<Build>& build, Evicted& evicted);
  void touch_locked(BuildEntry& entry, const std::shared_ptr<Build>& build, Evicted& evicted);
  // Objects for a loaded build, adopting live steps and logs. REQUIRES: mu held.
  std::shared_ptr<Build> materialize_locked(LoadedBuild&& loaded);
  // The build's row and children, read in one snapshot, and the load hook run.
  std::optional<LoadedBuild> load(int number);
  void run_load_hook(int number);
  // start() for a builder this process numbers. nullptr if it no longer does.
  std::shared_ptr<Build> start_held(const BuildStart& start, std::vector<Property>& properties,
                                    std::uint64_t& sequence);
  // start() for a builder numbered by the database.
  std::shared_ptr<Build> start_shared(const BuildStart& start, std::vector<Property>& properties,
                                      std::uint64_t& sequence);
  void prune_locked();
  void check_invariants_locked() const;

  Engine& engine_;
  const std::shared_ptr<ShardSync> sync_;
  const std::int64_t builder_id_;
  const std::size_t capacity_;
  const std::shared_ptr<BlockPool> build_blocks_;  // where the builder's builds live

  // Guarded by sync_->mu.
  int last_number_;
  std::optional<Numbering> numbering_;
  Lru lru_;
  boost::container::flat_map<int, std::pair<std::shared_ptr<Build>, int>> pinned_;
  BuildMap builds_;  // in number order, for pages
  boost::container::flat_map<int, std::shared_future<std::shared_ptr<Build>>> loading_;
  std::size_t prune_at_ = 64;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::uint64_t refaults_ = 0;
  std::uint64_t evictions_ = 0;
  std::uint64_t waited_in_flight_ = 0;  // lookups served by another thread's load
  std::function<void(int)> load_hook_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_CACHE_SHARD_H_
