// buildhist: the status objects a master writes and readers share.
//
// Ownership (DESIGN.md): the Store's cache holds recent builds; a Build owns its
// Steps and a Step owns its Logs. A child's link to its parent is a weak handle:
// following it returns the live parent, or reloads ("refaults") it from the store
// through the cache. No object ever holds its parent, so holding a Log keeps the
// Log alive, never its Build.
//
// Identity: while anything refers to an object, every lookup of its key returns
// that same object. Writes apply to it at once and are persisted in order by the
// store's writer; until they are committed they keep their build alive.
//
// Thread-safety: every method may be called from any thread. All objects of one
// builder share that builder's cache-shard mutex.
//
// Errors: methods throw buildhist::Error. A write that is refused changes nothing.
// Once the Store is closed, reads of an object still work and writes throw kClosed.
#ifndef BUILDHIST_STATUS_H_
#define BUILDHIST_STATUS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/options.h"
#include "buildhist/records.h"
#include "buildhist/results.h"

namespace buildhist {

class Build;
class Step;
class Log;

namespace internal {
class Shard;
class StatusOwner;
struct ShardSync;

// A row's id in the store. The database assigns it when the writer first inserts
// the row (so processes writing one store never collide); 0 until then. Set by the
// writer thread, read by any: atomic.
class RowId {
 public:
  explicit RowId(std::int64_t id = 0) noexcept : id_(id) {}
  std::int64_t get() const noexcept { return id_.load(std::memory_order_acquire); }
  void set(std::int64_t id) noexcept { id_.store(id, std::memory_order_release); }

 private:
  std::atomic<std::int64_t> id_;
};

// Only the cache and a parent make status objects. Their constructors are public,
// so that std::make_shared can place each object in one allocation with its
// reference counts, but they take this key, which only those can make.
class StatusKey {
 private:
  friend class Shard;
  friend class buildhist::Build;
  friend class buildhist::Step;
  StatusKey() = default;
};
}  // namespace internal

class Build : public std::enable_shared_from_this<Build> {
 public:
  ~Build();
  Build(internal::StatusKey, std::shared_ptr<internal::ShardSync> sync,
        std::weak_ptr<internal::StatusOwner> owner, std::int64_t id, BuildRecord record,
        std::vector<Property> properties);
  Build(const Build&) = delete;
  Build& operator=(const Build&) = delete;

  const std::string& builder() const noexcept { return record_.builder; }
  int number() const noexcept { return number_; }

  // A consistent snapshot of the build's own fields.
  BuildRecord record() const;
  bool complete() const;
  std::vector<Property> properties() const;
  // The JSON text of property `name`, or nullopt.
  std::optional<std::string> property(std::string_view name) const;

  std::vector<std::shared_ptr<Step>> steps() const;
  // nullptr when the build has no such step.
  std::shared_ptr<Step> step(int number) const;
  std::shared_ptr<Step> step(std::string_view name) const;

  // Adds a step, numbered after the last one. A name the build already has is
  // renamed as buildbot does: "compile" becomes "compile_2", then "compile_3".
  // REQUIRES: the build is not complete; `name` is 1 to kMaxNameBytes bytes of
  // UTF-8 without control characters (the rule of reference.h).
  std::shared_ptr<Step> add_step(std::string_view name,
                                 std::optional<std::int64_t> started_at = std::nullopt,
                                 Durability durability = Durability::kBuffered);

  // Sets (or replaces) a property. `json_value` must be one JSON value.
  // REQUIRES: `name` is not empty.
  void set_property(std::string_view name, std::string_view json_value,
                    std::string_view source, Durability durability = Durability::kBuffered);
  void set_state_string(std::string_view state_string,
                        Durability durability = Durability::kBuffered);

  // Completes the build. REQUIRES: not complete already; complete_at >= started_at.
  void finish(Results results, std::int64_t complete_at,
              Durability durability = Durability::kBuffered);

 private:
  friend class internal::Shard;
  friend class Step;
  friend class Log;

  // Runs `change` on a copy of the record under the shard mutex, after checking the
  // build may still be written, then queues it and keeps it. `change` may throw to
  // refuse: nothing changes then.
  void update(const char* what, Durability durability,
              const std::function<void(BuildRecord&)>& change);

  // REQUIRES: the shard mutex is held (or the build is not shared yet).
  std::shared_ptr<Step> step_locked(std::string_view name) const;
  void check_writable_locked(const char* what) const;
  // Appends `step`, new or loaded from the store, and indexes its name.
  void push_step_locked(std::shared_ptr<Step> step);
  // `name`, or buildbot's renaming of it: the first of name_2, name_3, ... that no
  // step of the build has. O(log n) a call, amortized, however often `name` recurs.
  std::string unique_step_name_locked(std::string_view name);

  // First, so that a cache hit that reads it finds it on the cache line of the
  // build's reference counts (the cache allocates builds line-aligned).
  const int number_;
  const std::shared_ptr<internal::ShardSync> sync_;
  const std::weak_ptr<internal::StatusOwner> owner_;  // the builder's cache shard
  internal::RowId id_;
  // Guarded by sync_->mu, but for record_.builder and record_.number, which never change.
  BuildRecord record_;
  std::vector<Property> properties_;
  std::vector<std::shared_ptr<Step>> steps_;
  // The position in steps_ of each name (names are unique within a build).
  std::map<std::string, std::size_t, std::less<>> step_by_name_;
  // For a name added more than once, the suffix add_step tries first: every suffix
  // below it is taken, and a step is never removed or renamed, so each taken
  // suffix is passed once.
  std::map<std::string, int, std::less<>> next_suffix_;
};

class Step : public std::enable_shared_from_this<Step> {
 public:
  ~Step();
  Step(internal::StatusKey, std::shared_ptr<internal::ShardSync> sync,
       std::weak_ptr<internal::StatusOwner> owner, std::int64_t id, int build_number,
       StepRecord record);
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

  int number() const noexcept { return number_; }
  const std::string& builder() const noexcept;
  int build_number() const noexcept { return build_number_; }

  StepRecord record() const;

  // The step's build: the live object, or the build refaulted from the store.
  // Throws Error(kNotFound) if the build has since been deleted from the store.
  std::shared_ptr<Build> build() const;

  std::vector<std::shared_ptr<Log>> logs() const;
  // nullptr when the step has no log with that slug.
  std::shared_ptr<Log> log(std::string_view slug) const;

  // Adds a log; its slug is `name` made an identifier (buildbot's rule: characters
  // other than letters, digits, '_' and '-' become '_'), made unique in the step.
  // REQUIRES: the build is not complete; `name` is not empty and not used in this step.
  std::shared_ptr<Log> add_log(std::string_view name, LogType type,
                               Durability durability = Durability::kBuffered);

  void start(std::int64_t started_at, Durability durability = Durability::kBuffered);
  void set_state_string(std::string_view state_string,
                        Durability durability = Durability::kBuffered);
  void add_url(std::string_view name, std::string_view url,
               Durability durability = Durability::kBuffered);
  void set_hidden(bool hidden, Durability durability = Durability::kBuffered);
  // REQUIRES: the step is not complete.
  void finish(Results results, std::int64_t complete_at,
              Durability durability = Durability::kBuffered);

 private:
  friend class internal::Shard;
  friend class Build;
  friend class Log;

  // Runs `change` on the record under the shard mutex, after checking that the build
  // may still be written, then queues the row. `change` may throw to refuse.
  void update(const char* what, Durability durability,
              const std::function<void(StepRecord&)>& change);

  const std::shared_ptr<internal::ShardSync> sync_;
  const std::weak_ptr<internal::StatusOwner> owner_;
  internal::RowId id_;
  const int build_number_;
  const int number_;
  // Guarded by sync_->mu.
  std::weak_ptr<Build> build_;
  StepRecord record_;
  std::vector<std::shared_ptr<Log>> logs_;
};

class Log {
 public:
  ~Log();
  Log(internal::StatusKey, std::shared_ptr<internal::ShardSync> sync,
      std::weak_ptr<internal::StatusOwner> owner, std::int64_t id, int build_number, int step_number,
      LogRecord record);
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  const std::string& slug() const noexcept { return slug_; }
  int build_number() const noexcept { return build_number_; }
  int step_number() const noexcept { return step_number_; }

  LogRecord record() const;

  // The log's step: the live object, or refaulted with its build from the store.
  std::shared_ptr<Step> step() const;

  // Appends text. Whole lines are stored as one chunk; a trailing partial line is
  // held until a later append completes it or finish() stores it.
  // REQUIRES: the log is not complete.
  void append(std::string_view text, Durability durability = Durability::kBuffered);

  // Stores a held partial line and marks the log complete.
  void finish(Durability durability = Durability::kBuffered);

  // Streams lines [from, from + limit) (limit 0: to the end) to `sink`, which
  // returns false to stop. Waits until this log's appends are committed, then reads
  // the store chunk by chunk: the log is never held in memory whole.
  void read(std::int64_t from, std::int64_t limit,
            const std::function<bool(const LogLine&)>& sink) const;

 private:
  friend class internal::Shard;
  friend class Step;

  // Throws unless both the log and its build may still be written. REQUIRES: mu held.
  void check_writable_locked(const Build& build, const char* what) const;

  const std::shared_ptr<internal::ShardSync> sync_;
  const std::weak_ptr<internal::StatusOwner> owner_;
  internal::RowId id_;
  const int build_number_;
  const int step_number_;
  const std::string slug_;
  // Guarded by sync_->mu.
  std::weak_ptr<Step> step_;
  LogRecord record_;
  std::string partial_;          // a trailing line not yet ended by '\n'
  std::uint64_t last_write_ = 0;  // write sequence of the last append
};

}  // namespace buildhist

#endif  // BUILDHIST_STATUS_H_
