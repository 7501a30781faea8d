#include "cache/shard.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>

#include "buildhist/error.h"
#include "sql/connection.h"

namespace buildhist::internal {

namespace {

// Aborts with a message when a cache invariant is broken: continuing would hand out
// duplicate or dangling objects.
void require(bool holds, const char* invariant) {
  if (!holds) {
    std::fprintf(stderr, "buildhist: cache invariant broken: %s\n", invariant);
    std::abort();
  }
}

// Removes the entries of a flat map whose value is `expired`, in one pass (erasing
// them one by one would move the rest of the map each time).
template <typename Map, typename Expired>
void erase_expired(Map& map, Expired expired) {
  auto entries = map.extract_sequence();
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [&](const auto& entry) { return expired(entry.second); }),
                entries.end());
  map.adopt_sequence(boost::container::ordered_unique_range, std::move(entries));
}

}  // namespace

Shard::Shard(Engine& engine, std::string builder, std::int64_t builder_id, int last_number,
             std::optional<Numbering> numbering, std::size_t capacity)
    : engine_(engine),
      sync_(std::make_shared<ShardSync>(std::move(builder), builder_id)),
      builder_id_(builder_id),
      capacity_(capacity),
      build_blocks_(std::make_shared<BlockPool>()),
      last_number_(last_number),
      numbering_(numbering) {
  require(!numbering || *numbering != Numbering::kWaiting, "a shard numbers, or the store does");
}

Shard::~Shard() = default;

void Shard::set_load_hook(std::function<void(int)> hook) {
  std::lock_guard lock(sync_->mu);
  load_hook_ = std::move(hook);
}

std::optional<LoadedBuild> Shard::load(int number) {
  std::optional<LoadedBuild> loaded;
  {
    auto reader = engine_.reader();
    ReadSnapshot snapshot(*reader);  // the row and its children as of one moment
    loaded = load_build_row(*reader, builder_id_, builder(), number);
    if (loaded) load_children(*reader, {&*loaded});
  }
  run_load_hook(number);
  return loaded;
}

void Shard::run_load_hook(int number) {
  std::function<void(int)> hook;
  {
    std::lock_guard lock(sync_->mu);
    hook = load_hook_;
  }
  if (hook) hook(number);
}

std::shared_ptr<Build> Shard::get(int number, Via via) {
  Evicted evicted;
  std::shared_future<std::shared_ptr<Build>> in_flight;
  std::optional<std::promise<std::shared_ptr<Build>>> loaded_promise;  // made on a miss only
  {
    std::lock_guard lock(sync_->mu);
    if (auto live = find_live_locked(number, evicted)) {
      ++hits_;
      return live;
    }
    if (const auto it = loading_.find(number); it != loading_.end()) {
      ++hits_;  // served by the load already in flight, not by one of its own
      ++waited_in_flight_;
      in_flight = it->second;
    } else {
      ++misses_;
      if (via == Via::kParentHandle) ++refaults_;
      loading_.emplace(number, loaded_promise.emplace().get_future().share());
    }
  }
  if (in_flight.valid()) return in_flight.get();

  std::optional<LoadedBuild> loaded;
  try {
    loaded = load(number);
  } catch (...) {
    {
      std::lock_guard lock(sync_->mu);
      loading_.erase(number);  // a failed load is not cached
    }
    loaded_promise->set_exception(std::current_exception());
    throw;
  }

  std::shared_ptr<Build> build;
  {
    std::lock_guard lock(sync_->mu);
    if (loaded) {
      build = materialize_locked(std::move(*loaded));
      insert_locked(build, evicted);
    }
    loading_.erase(number);
  }
  loaded_promise->set_value(build);
  return build;
}

std::vector<std::shared_ptr<Build>> Shard::page(const HistoryPage& page) {
  if (page.limit <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "a history page needs a positive limit");
  }
  const int ceiling = page.before.value_or(std::numeric_limits<int>::max());
  // Registered before the rows are read: the newest `limit` live builds below the
  // ceiling, held, so none of them can die and be materialized again from rows
  // older than its last write (every live build the page can hold is among them,
  // since the page's range holds at most `limit` builds). A build started after
  // this point is not among them: it is looked up by number, not from the rows.
  std::vector<std::shared_ptr<Build>> held;
  int started_after = 0;
  {
    std::lock_guard lock(sync_->mu);
    started_after = last_number_;
    for (auto it = builds_.lower_bound(ceiling); it != builds_.begin() &&
                                                 held.size() < static_cast<std::size_t>(page.limit);) {
      --it;
      if (auto build = it->second.build.lock()) held.push_back(std::move(build));
    }
  }

  auto reader = engine_.reader();
  std::optional<ReadSnapshot> snapshot(std::in_place, *reader);
  std::vector<LoadedBuild> rows =
      load_page_rows(*reader, builder_id_, builder(), page.before, page.limit);
  run_load_hook(0);

  // The page holds committed builds and live ones whose rows are still queued.
  struct Slot {
    int number = 0;
    std::shared_ptr<Build> build;
    LoadedBuild* row = nullptr;
    std::shared_future<std::shared_ptr<Build>> in_flight;
    bool by_number = false;  // started after the rows were read: get() it
  };
  std::vector<Slot> slots;
  std::vector<LoadedBuild*> to_load;
  std::vector<std::promise<std::shared_ptr<Build>>> promises;
  Evicted evicted;
  {
    std::lock_guard lock(sync_->mu);
    const int floor = static_cast<int>(rows.size()) == page.limit ? rows.back().record.number : 0;
    for (LoadedBuild& row : rows) slots.push_back(Slot{row.record.number, nullptr, &row, {}, false});
    for (auto it = builds_.lower_bound(floor + 1); it != builds_.end() && it->first < ceiling;
         ++it) {
      const bool listed = std::any_of(rows.begin(), rows.end(), [&](const LoadedBuild& row) {
        return row.record.number == it->first;
      });
      if (!listed && !it->second.build.expired()) {
        slots.push_back(Slot{it->first, nullptr, nullptr, {}, false});
      }
    }
    std::sort(slots.begin(), slots.end(),
              [](const Slot& a, const Slot& b) { return a.number > b.number; });
    if (slots.size() > static_cast<std::size_t>(page.limit)) slots.resize(page.limit);

    for (Slot& slot : slots) {
      if ((slot.build = find_live_locked(slot.number, evicted))) {
        ++hits_;
      } else if (const auto it = loading_.find(slot.number); it != loading_.end()) {
        ++hits_;
        ++waited_in_flight_;
        slot.in_flight = it->second;
      } else if (slot.number > started_after || slot.row == nullptr) {
        slot.by_number = true;
      } else {
        ++misses_;
        promises.emplace_back();
        loading_.emplace(slot.number, promises.back().get_future().share());
        to_load.push_back(slot.row);
      }
    }
  }

  try {
    load_children(*reader, to_load);
    snapshot.reset();
  } catch (...) {
    {
      std::lock_guard lock(sync_->mu);
      for (const LoadedBuild* row : to_load) loading_.erase(row->record.number);
    }
    for (auto& promise : promises) promise.set_exception(std::current_exception());
    throw;
  }

  std::vector<std::shared_ptr<Build>> materialized;
  {
    std::lock_guard lock(sync_->mu);
    for (LoadedBuild* row : to_load) {
      const int number = row->record.number;
      materialized.push_back(materialize_locked(std::move(*row)));
      insert_locked(materialized.back(), evicted);
      loading_.erase(number);
    }
  }
  for (std::size_t i = 0; i < promises.size(); ++i) promises[i].set_value(materialized[i]);

  std::vector<std::shared_ptr<Build>> builds;
  builds.reserve(slots.size());
  std::size_t next_loaded = 0;
  for (Slot& slot : slots) {
    if (slot.build) {
      builds.push_back(std::move(slot.build));
    } else if (slot.in_flight.valid()) {
      if (auto build = slot.in_flight.get()) builds.push_back(std::move(build));
    } else if (slot.by_number) {
      if (auto build = get(slot.number, Via::kLookup)) builds.push_back(std::move(build));
    } else {
      builds.push_back(materialized[next_loaded++]);
    }
  }
  return builds;
}

namespace {

// The properties a build starts with, by name, one of each. Store::start_build
// has checked them (util/input_rules.h).
std::vector<Property> start_properties(const BuildStart& start) {
  std::vector<Property> properties = start.properties;
  std::stable_sort(properties.begin(), properties.end(),
                   [](const Property& a, const Property& b) { return a.name < b.name; });
  // The last value given for a name wins, as a later set_property would.
  std::vector<Property> unique;
  for (Property& property : properties) {
    if (!unique.empty() && unique.back().name == property.name) {
      unique.back() = std::move(property);
    } else {
      unique.push_back(std::move(property));
    }
  }
  return unique;
}

BuildRecord start_record(const BuildStart& start, const std::string& builder, int number) {
  BuildRecord record;
  record.builder = builder;
  record.number = number;
  record.worker = start.worker;
  record.started_at = start.started_at;
  record.state_string = start.state_string;
  return record;
}

}  // namespace

std::shared_ptr<Build> Shard::start(const BuildStart& start, Durability durability) {
  std::vector<Property> properties = start_properties(start);
  std::uint64_t sequence = 0;
  for (;;) {
    std::optional<Numbering> numbering;
    {
      std::lock_guard lock(sync_->mu);
      numbering = numbering_;
    }
    if (!numbering) {
      const NumberingState state = engine_.acquire_numbering(builder());
      std::lock_guard lock(sync_->mu);
      if (!numbering_) {
        numbering_ = state.numbering;
        last_number_ = std::max(last_number_, state.last_number);
      }
      continue;
    }
    std::shared_ptr<Build> build = *numbering == Numbering::kHeld
                                       ? start_held(start, properties, sequence)
                                       : start_shared(start, properties, sequence);
    if (build) {
      settle(sequence, durability);
      return build;
    }
  }
}

std::shared_ptr<Build> Shard::start_held(const BuildStart& start,
                                         std::vector<Property>& properties,
                                         std::uint64_t& sequence) {
  Admission admission = engine_.admit(1 + properties.size(), 0);
  Evicted evicted;
  std::lock_guard lock(sync_->mu);
  if (numbering_ != Numbering::kHeld) return nullptr;  // handed over meanwhile
  if (start.number && *start.number <= last_number_) {
    throw Error(ErrorCode::kInvalidArgument,
                "start build " + builder() + "/" + std::to_string(*start.number) +
                    ": the builder's builds are numbered up to " + std::to_string(last_number_) +
                    " already");
  }
  BuildRecord record = start_record(start, builder(), start.number.value_or(last_number_ + 1));
  auto build = std::allocate_shared<Build>(PoolAllocator<Build>(build_blocks_), StatusKey(), sync_,
                                           weak_from_this(), 0, record, properties);
  std::vector<RowWrite> unit{BuildRowWrite{&build->id_, builder_id_, record}};
  for (const Property& property : properties) {
    unit.emplace_back(PropertyWrite{&build->id_, property});
  }
  sequence = engine_.enqueue(admission, unit, build);
  last_number_ = record.number;
  insert_locked(build, evicted);
  return build;
}

std::shared_ptr<Build> Shard::start_shared(const BuildStart& start,
                                           std::vector<Property>& properties,
                                           std::uint64_t& sequence) {
  BuildRecord record = start_record(start, builder(), 0);
  const ClaimedBuild claimed =
      engine_.claim_build(BuildClaim{builder_id_, builder(), start.number, &record, &properties});
  record.number = claimed.number;
  Evicted evicted;
  std::lock_guard lock(sync_->mu);
  // The build is in the store already: a later start may number in memory again,
  // so last_number_ must not fall behind it.
  last_number_ = std::max(last_number_, claimed.number);
  auto build = std::allocate_shared<Build>(PoolAllocator<Build>(build_blocks_), StatusKey(), sync_,
                                           weak_from_this(), claimed.id, record, properties);
  sequence = 0;
  insert_locked(build, evicted);
  return build;
}

void Shard::hand_over_numbering(const std::string& holder) {
  std::lock_guard lock(sync_->mu);
  if (numbering_ != Numbering::kHeld) return;
  numbering_ = Numbering::kShared;
  // Behind every build this shard numbered: the other process numbers after them.
  engine_.enqueue_control(NumberingRelease{builder_id_, holder});
}

Shard::Children& Shard::children_locked(int number) {
  const auto it = find_entry_locked(number);
  require(it != builds_.end(), "every live build is in the identity map");
  auto& children = it->second.children;
  if (!children) children = std::make_unique<Children>();
  return *children;
}

void Shard::add_step_locked(const std::shared_ptr<Step>& step) {
  children_locked(step->build_number_).steps.push_back(step);
}

void Shard::add_log_locked(const std::shared_ptr<Log>& log) {
  children_locked(log->build_number_).logs.push_back(log);
}

void Shard::pin_locked(const std::shared_ptr<Build>& build) {
  auto& [pinned, count] = pinned_[build->number()];
  require(!pinned || pinned == build, "a pin holds the one live build of its number");
  pinned = build;
  ++count;
}

void Shard::unpin_locked(int build_number) {
  const auto it = pinned_.find(build_number);
  require(it != pinned_.end() && it->second.second > 0, "an unpin matches a pin");
  if (--it->second.second == 0) {
    // The caller holds the build (it is writing to it), so this frees nothing here.
    pinned_.erase(it);
  }
}

Admission Shard::admit(std::size_t writes, std::size_t bytes) {
  return engine_.admit(writes, bytes);
}

std::uint64_t Shard::enqueue_locked(Admission& admission, std::span<RowWrite> writes,
                                    const std::shared_ptr<const Build>& build) {
  return engine_.enqueue(admission, writes, build);
}

void Shard::settle(std::uint64_t sequence, Durability durability) {
  if (durability == Durability::kImmediate && sequence != 0) engine_.wait(sequence);
}

void Shard::wait_committed(std::uint64_t sequence) {
  if (sequence != 0) engine_.wait(sequence);
}

void Shard::read_log(std::int64_t log_id, std::int64_t from, std::int64_t limit,
                     const std::function<bool(const LogLine&)>& sink) {
  auto reader = engine_.reader();
  read_log_lines(*reader, log_id, from, limit, sink);
}

void Shard::add_stats(CacheStats& stats) const {
  std::lock_guard lock(sync_->mu);
  stats.hits += hits_;
  stats.misses += misses_;
  stats.refaults += refaults_;
  stats.evictions += evictions_;
  stats.in_flight_waits += waited_in_flight_;
  stats.resident_builds += lru_.size();
  stats.live_builds += static_cast<std::uint64_t>(sync_->live_builds.load());
  stats.live_steps += static_cast<std::uint64_t>(sync_->live_steps.load());
  stats.live_logs += static_cast<std::uint64_t>(sync_->live_logs.load());
}

std::vector<std::shared_ptr<Build>> Shard::release_resident() {
  std::lock_guard lock(sync_->mu);
  for (auto& [number, entry] : builds_) entry.lru_slot = Lru::kNoSlot;
  std::vector<std::shared_ptr<Build>> released = lru_.take_all();
  for (auto& [number, pin] : pinned_) released.push_back(std::move(pin.first));
  pinned_.clear();
  return released;
}

Shard::BuildMap::iterator Shard::find_entry_locked(int number) {
  // A builder's live builds are mostly a run of consecutive numbers (its newest),
  // so the entry's place is guessed from the numbers at the map's two ends: on a
  // run it is exact, and a binary search of the rest settles any gap.
  if (builds_.empty()) return builds_.end();
  const int first = builds_.begin()->first;
  const int last = builds_.rbegin()->first;
  if (number < first || number > last) return builds_.end();
  const auto span = static_cast<std::int64_t>(builds_.size() - 1);
  const std::int64_t guess =
      last == first ? 0 : (static_cast<std::int64_t>(number) - first) * span / (last - first);
  const auto it = builds_.begin() + guess;
  if (it->first == number) return it;
  const auto before = [](const auto& entry, int key) { return entry.first < key; };
  const auto found = it->first < number
                         ? std::lower_bound(it + 1, builds_.end(), number, before)
                         : std::lower_bound(builds_.begin(), it, number, before);
  return found != builds_.end() && found->first == number ? found : builds_.end();
}

std::shared_ptr<Build> Shard::find_live_locked(int number, Evicted& evicted) {
  const auto it = find_entry_locked(number);
  if (it == builds_.end()) return nullptr;
  BuildEntry& entry = it->second;
  // Through the weak reference even when the LRU holds the build: that reads the
  // build's reference counts, which returning it writes anyway, and not the LRU's slot.
  std::shared_ptr<Build> build = entry.build.lock();
  if (build) touch_locked(entry, build, evicted);
  return build;
}

void Shard::insert_locked(const std::shared_ptr<Build>& build, Evicted& evicted) {
  prune_locked();
  BuildEntry& entry = builds_[build->number()];
  require(entry.build.expired() || entry.build.lock() == build,
          "one live build per number (identity)");
  entry.build = build;
  touch_locked(entry, build, evicted);
}

void Shard::touch_locked(BuildEntry& entry, const std::shared_ptr<Build>& build,
                         Evicted& evicted) {
  if (entry.lru_slot != Lru::kNoSlot) {
    lru_.move_to_front(entry.lru_slot);
    return;
  }
  if (capacity_ == 0) return;
  if (lru_.size() == capacity_) {
    const auto victim = find_entry_locked(lru_.back()->number());
    assert(victim != builds_.end());  // invariant 2
    victim->second.lru_slot = Lru::kNoSlot;
    evicted.push_back(lru_.pop_back());
    ++evictions_;
  }
  entry.lru_slot = lru_.push_front(build);
  assert(lru_.size() <= capacity_);
}

std::shared_ptr<Build> Shard::materialize_locked(LoadedBuild&& loaded) {
  const int number = loaded.record.number;
  auto self = weak_from_this();
  auto build = std::allocate_shared<Build>(PoolAllocator<Build>(build_blocks_), StatusKey(), sync_,
                                           self, loaded.id, std::move(loaded.record),
                                           std::move(loaded.properties));
  // Steps and logs of this number still held from outside, to adopt: the live ones
  // sorted by row id, found by binary search.
  const auto live_by_id = [](const auto& references) {
    std::vector<decltype(references.front().lock())> live;
    for (const auto& reference : references) {
      if (auto object = reference.lock()) live.push_back(std::move(object));
    }
    std::sort(live.begin(), live.end(),
              [](const auto& a, const auto& b) { return a->id_.get() < b->id_.get(); });
    return live;
  };
  const auto find_by_id = [](const auto& live, std::int64_t id) {
    using Pointer = std::decay_t<decltype(live.front())>;
    const auto it = std::lower_bound(live.begin(), live.end(), id,
                                     [](const auto& object, std::int64_t key) {
                                       return object->id_.get() < key;
                                     });
    return it != live.end() && (*it)->id_.get() == id ? *it : Pointer();
  };
  BuildEntry& entry = builds_[number];
  std::vector<std::shared_ptr<Step>> live_steps;
  std::vector<std::shared_ptr<Log>> live_logs;
  if (entry.children) {
    live_steps = live_by_id(entry.children->steps);
    live_logs = live_by_id(entry.children->logs);
  }
  auto children = std::make_unique<Children>();  // the expired references go
  children->steps.reserve(loaded.steps.size());
  build->steps_.reserve(loaded.steps.size());
  for (LoadedStep& loaded_step : loaded.steps) {
    std::shared_ptr<Step> step = find_by_id(live_steps, loaded_step.id);
    if (step) {
      step->build_ = build;  // adopt: the live step keeps its own logs
      for (const auto& log : step->logs_) children->logs.push_back(log);
    } else {
      step = std::make_shared<Step>(StatusKey(), sync_, self, loaded_step.id, number,
                                    std::move(loaded_step.record));
      step->build_ = build;
      step->logs_.reserve(loaded_step.logs.size());
      for (LoadedLog& loaded_log : loaded_step.logs) {
        std::shared_ptr<Log> log = find_by_id(live_logs, loaded_log.id);
        if (!log) {
          log = std::make_shared<Log>(StatusKey(), sync_, self, loaded_log.id, number,
                                      step->number_, std::move(loaded_log.record));
        }
        log->step_ = step;
        children->logs.push_back(log);
        step->logs_.push_back(std::move(log));
      }
    }
    children->steps.push_back(step);
    build->push_step_locked(std::move(step));
  }
  entry.children = std::move(children);
  return build;
}

void Shard::prune_locked() {
  if (builds_.size() < prune_at_) return;
  // Expired entries are not in the LRU (it holds its builds strongly). An expired
  // build's entry stays while any of its children lives, with only those.
  for (auto& [number, entry] : builds_) {
    if (!entry.children || !entry.build.expired()) continue;
    std::erase_if(entry.children->steps, [](const auto& step) { return step.expired(); });
    std::erase_if(entry.children->logs, [](const auto& log) { return log.expired(); });
    if (entry.children->steps.empty() && entry.children->logs.empty()) entry.children.reset();
  }
  erase_expired(builds_, [](const BuildEntry& entry) {
    return entry.build.expired() && !entry.children;
  });
  prune_at_ = std::max<std::size_t>(64, 2 * builds_.size());
}

void Shard::check_invariants() const {
  std::lock_guard lock(sync_->mu);
  check_invariants_locked();
}

void Shard::check_invariants_locked() const {
  require(lru_.size() <= capacity_, "the LRU holds at most capacity builds");
  std::size_t in_lru = 0;
  for (const auto& [number, entry] : builds_) {
    const auto build = entry.build.lock();
    if (entry.lru_slot != Lru::kNoSlot) {
      ++in_lru;
      require(build != nullptr && lru_.at(entry.lru_slot) == build,
              "an entry marked in the LRU points at its build there");
    }
    if (build) {
      require(build->number() == number, "builds_ is keyed by build number");
      const auto registered = [&](const auto& references, const auto& object) {
        return std::any_of(references.begin(), references.end(),
                           [&](const auto& reference) { return reference.lock() == object; });
      };
      for (const auto& step : build->steps_) {
        require(step->build_.lock() == build, "a build's steps point back to it");
        require(entry.children && registered(entry.children->steps, step),
                "every live step is among its build's children in the identity map");
        for (const auto& log : step->logs_) {
          require(log->step_.lock() == step, "a step's logs point back to it");
          require(registered(entry.children->logs, log),
                  "every live log is among its build's children in the identity map");
        }
      }
    }
  }
  require(in_lru == lru_.size(), "every build in the LRU has an entry marked so");
  lru_.for_each([&](Lru::Slot slot, const std::shared_ptr<Build>& build) {
    const auto it = builds_.find(build->number());
    require(it != builds_.end() && it->second.lru_slot == slot,
            "every build in the LRU is entered under its number with its slot");
  });
  const std::size_t live_entries = static_cast<std::size_t>(
      std::count_if(builds_.begin(), builds_.end(),
                    [](const auto& item) { return !item.second.build.expired(); }));
  require(live_entries == static_cast<std::size_t>(sync_->live_builds.load()),
          "every live build of the builder is in the identity map");
}

}  // namespace buildhist::internal
