// What a status object needs from its builder's cache shard, and nothing more.
//
// Build, Step and Log sit below the cache (src/meson.build gives the layers): they
// reach their shard through this interface, which the cache implements, and hold
// it weakly, so a closed store leaves objects that still read and refuse writes.
//
// Writes are made in two halves so that nothing waits while holding the shard
// mutex: admit() may block (the writer is full, or busy committing) and is called
// with no lock held; enqueue_locked() never blocks and is called under the mutex,
// so the writer's queue holds the writes in the order the objects changed.
#ifndef BUILDHIST_STATUS_OWNER_H_
#define BUILDHIST_STATUS_OWNER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <utility>

#include "buildhist/options.h"
#include "buildhist/status.h"
#include "sql/status_writer.h"

namespace buildhist::internal {

class Connection;

// Room in the writer's queue for a number of writes, held from admit() until
// enqueue_locked() uses it; given back if the write is refused in between.
class Admission {
 public:
  class Pool {
   public:
    virtual void release(std::size_t writes, std::size_t bytes) noexcept = 0;

   protected:
    ~Pool() = default;
  };

  Admission() = default;
  Admission(Pool* pool, std::size_t writes, std::size_t bytes) noexcept
      : pool_(pool), writes_(writes), bytes_(bytes) {}
  Admission(Admission&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), writes_(other.writes_), bytes_(other.bytes_) {}
  Admission& operator=(Admission&&) = delete;
  ~Admission() {
    if (pool_ != nullptr) pool_->release(writes_, bytes_);
  }

  std::size_t writes() const noexcept { return writes_; }
  std::size_t bytes() const noexcept { return bytes_; }
  // Called by the queue as the admitted writes enter it.
  void consume() noexcept { pool_ = nullptr; }

 private:
  Pool* pool_ = nullptr;
  std::size_t writes_ = 0;
  std::size_t bytes_ = 0;  // of log text
};

class StatusOwner {
 public:
  // How a lookup came: a refault is a load through a child's parent handle.
  enum class Via { kLookup, kParentHandle };

  // The build `number` of this builder: the live one or loaded through the cache.
  virtual std::shared_ptr<Build> get(int number, Via via) = 0;

  // Room for `writes` writes carrying `bytes` of log text. REQUIRES: no shard
  // mutex held (it may block). Throws Error if the store is read-only, closed, or
  // its writer failed.
  virtual Admission admit(std::size_t writes, std::size_t bytes) = 0;

  // Queues `writes` as one unit, pinned by `build` until committed; returns the
  // sequence number of the last. REQUIRES: the shard mutex held; `admission` made
  // for at least writes.size() writes. Never blocks.
  virtual std::uint64_t enqueue_locked(Admission& admission, std::span<RowWrite> writes,
                                       const std::shared_ptr<const Build>& build) = 0;

  // Waits for write `sequence` when `durability` asks for it. REQUIRES: no lock held.
  virtual void settle(std::uint64_t sequence, Durability durability) = 0;

  // Waits until write `sequence` is committed (0: nothing to wait for).
  virtual void wait_committed(std::uint64_t sequence) = 0;

  // Enters a live build's new children into the identity map. REQUIRES: mutex held.
  virtual void add_step_locked(const std::shared_ptr<Step>& step) = 0;
  virtual void add_log_locked(const std::shared_ptr<Log>& log) = 0;

  // A log holding a partial line keeps its build resident until the line is
  // written: pin_locked when it starts holding one, unpin_locked when it stops.
  // REQUIRES: the shard mutex held.
  virtual void pin_locked(const std::shared_ptr<Build>& build) = 0;
  virtual void unpin_locked(int build_number) = 0;

  // Streams committed lines of the log with row id `log_id` (see Log::read).
  virtual void read_log(std::int64_t log_id, std::int64_t from, std::int64_t limit,
                        const std::function<bool(const LogLine&)>& sink) = 0;

 protected:
  ~StatusOwner() = default;
};

// The owner behind `owner`; throws Error(kClosed) naming `what` once it is gone.
std::shared_ptr<StatusOwner> open_owner(const std::weak_ptr<StatusOwner>& owner,
                                        const char* what);

}  // namespace buildhist::internal

#endif  // BUILDHIST_STATUS_OWNER_H_
