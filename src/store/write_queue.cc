#include "store/write_queue.h"

#include <cassert>
#include <map>
#include <unordered_map>
#include <utility>

#include "sql/connection.h"
#include "sql/numbering.h"

namespace buildhist::internal {

namespace {

// The row a write replaces within one batch: rows by kind and the object whose id
// they carry, properties by build and name; chunks and releases are never merged.
class BatchRows {
 public:
  void add(const RowWrite& write) {
    if (const auto* property = std::get_if<PropertyWrite>(&write)) {
      place(properties_[{property->build_id, property->property.name}], write);
      return;
    }
    const RowId* id = std::visit(
        [](const auto& row) -> const RowId* {
          if constexpr (requires { row.id; }) {
            return row.id;
          } else {
            return nullptr;
          }
        },
        write);
    if (id == nullptr) {
      rows_.push_back(&write);
      return;
    }
    place(by_object_[id], write);
  }

  const std::vector<const RowWrite*>& rows() const { return rows_; }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  struct Slot {
    std::size_t index = kNone;
  };

  void place(Slot& slot, const RowWrite& write) {
    if (slot.index == kNone) {
      slot.index = rows_.size();
      rows_.push_back(&write);
    } else {
      rows_[slot.index] = &write;  // the later snapshot of the same row wins
    }
  }

  std::vector<const RowWrite*> rows_;
  // Each object has one RowId, and each kind of row one object type, so the id's
  // address names the row.
  std::unordered_map<const RowId*, Slot> by_object_;
  std::map<std::pair<const RowId*, std::string>, Slot> properties_;
};

}  // namespace

WriteQueue::WriteQueue(std::unique_ptr<Connection> connection, Config config,
                       NumberingWanted wanted)
    : connection_(std::move(connection)),
      config_(std::move(config)),
      wanted_(std::move(wanted)),
      thread_([this] { run(); }) {}

WriteQueue::~WriteQueue() { stop(); }

Admission WriteQueue::admit(std::size_t writes, std::size_t bytes) {
  std::unique_lock lock(mu_);
  const std::size_t room = 2 * std::max<std::size_t>(config_.max_batch, 1);
  const std::size_t byte_room = 2 * std::max<std::size_t>(config_.max_batch_bytes, 1);
  // Backpressure: a producer faster than SQLite waits rather than growing the
  // queue without bound. A unit larger than the room goes alone into an empty queue.
  const auto has_room = [&] {
    const std::size_t used = queue_.size() + admitted_;
    const std::size_t used_bytes = queued_bytes_ + admitted_bytes_;
    return (used + writes <= room && used_bytes + bytes <= byte_room) || used == 0 || error_ ||
           stopping_;
  };
  if (!has_room()) {
    ++admission_waits_;
    done_.wait(lock, has_room);
  }
  throw_if_failed_locked();
  if (stopping_) throw Error(ErrorCode::kClosed, "write to a store that is being closed");
  admitted_ += writes;
  admitted_bytes_ += bytes;
  return Admission(this, writes, bytes);
}

void WriteQueue::release(std::size_t writes, std::size_t bytes) noexcept {
  {
    std::lock_guard lock(mu_);
    assert(admitted_ >= writes && admitted_bytes_ >= bytes);
    admitted_ -= writes;
    admitted_bytes_ -= bytes;
  }
  done_.notify_all();
}

std::uint64_t WriteQueue::enqueue(Admission& admission, std::span<RowWrite> writes,
                                  const std::shared_ptr<const void>& pin) {
  std::lock_guard lock(mu_);
  throw_if_failed_locked();
  if (stopping_) throw Error(ErrorCode::kClosed, "write to a store that is being closed");
  assert(writes.size() <= admission.writes());
  admitted_ -= admission.writes();
  admitted_bytes_ -= admission.bytes();
  admission.consume();
  const bool was_empty = queue_.empty();
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const auto* chunk = std::get_if<ChunkWrite>(&writes[i]);
    const std::size_t bytes = chunk != nullptr ? chunk->text.size() : 0;
    queued_bytes_ += bytes;
    queue_.push_back(Pending{std::move(writes[i]), pin, i + 1 == writes.size(), bytes});
  }
  submitted_ += writes.size();
  if (was_empty) work_.notify_one();
  return submitted_;
}

std::uint64_t WriteQueue::enqueue_control(RowWrite write) {
  std::lock_guard lock(mu_);
  throw_if_failed_locked();
  if (stopping_) throw Error(ErrorCode::kClosed, "write to a store that is being closed");
  const bool was_empty = queue_.empty();
  queue_.push_back(Pending{std::move(write), nullptr, true});
  ++submitted_;
  if (was_empty) work_.notify_one();
  return submitted_;
}

void WriteQueue::wait(std::uint64_t sequence) {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return committed_ >= sequence || error_ || stopped_; });
  if (committed_ >= sequence) return;
  throw_if_failed_locked();
  throw Error(ErrorCode::kClosed, "the store's writer stopped before the write was committed");
}

void WriteQueue::flush() {
  std::uint64_t last = 0;
  {
    std::lock_guard lock(mu_);
    last = submitted_;
  }
  wait(last);
}

void WriteQueue::stop(const std::function<void(Connection&)>& last) {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_one();
  done_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (connection_ && last) {
    try {
      last(*connection_);
    } catch (const Error&) {
      // Best effort on the way out: what it gives back, a later writer takes back.
    }
  }
  // Closing the last connection to a store checkpoints its WAL into the database
  // file and removes it, so a closed store is one file again.
  connection_.reset();
}

std::uint64_t WriteQueue::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

std::uint64_t WriteQueue::writes() const {
  std::lock_guard lock(mu_);
  return committed_;
}

std::uint64_t WriteQueue::admission_waits() const {
  std::lock_guard lock(mu_);
  return admission_waits_;
}

std::uint64_t WriteQueue::queued() const {
  std::lock_guard lock(mu_);
  return submitted_ - committed_;
}

std::uint64_t WriteQueue::queued_bytes() const {
  std::lock_guard lock(mu_);
  return queued_bytes_;
}

std::uint64_t WriteQueue::busy_retries() const {
  std::lock_guard lock(mu_);
  return busy_retries_;
}

void WriteQueue::throw_if_failed_locked() const {
  if (error_) {
    throw Error(error_->code(), std::string("the store's writer failed, writes since its last "
                                            "commit are lost: ") + error_->what());
  }
}

void WriteQueue::take_batch_locked(std::vector<Pending>& batch) {
  const std::size_t max_batch = std::max<std::size_t>(config_.max_batch, 1);
  if (queue_.size() <= max_batch && queued_bytes_ <= config_.max_batch_bytes) {
    batch.swap(queue_);
    queued_bytes_ = 0;
    return;
  }
  // The shortest prefix that reaches either bound and ends a unit (never split one).
  std::size_t take = 0;
  std::size_t bytes = 0;
  while (take < max_batch && bytes < config_.max_batch_bytes) bytes += queue_[take++].bytes;
  while (!queue_[take - 1].ends_unit) bytes += queue_[take++].bytes;
  assert(bytes <= queued_bytes_);
  queued_bytes_ -= bytes;
  const auto cut = queue_.begin() + static_cast<std::ptrdiff_t>(take);
  batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(cut));
  queue_.erase(queue_.begin(), cut);
}

void WriteQueue::run() {
  std::vector<Pending> batch;
  for (;;) {
    bool poll_numbering = false;
    {
      std::unique_lock lock(mu_);
      const auto ready = [&] { return !queue_.empty() || stopping_; };
      if (watch_numbering_.load(std::memory_order_relaxed)) {
        poll_numbering = !work_.wait_for(lock, config_.numbering_poll, ready);
      } else {
        work_.wait(lock, ready);
      }
      if (error_ || (queue_.empty() && stopping_)) {
        stopped_ = true;
        done_.notify_all();
        return;
      }
      if (!queue_.empty()) take_batch_locked(batch);
    }
    std::vector<std::int64_t> wanted;
    std::optional<Error> failure;
    try {
      if (!batch.empty()) {
        wanted = commit(batch);
      } else if (poll_numbering) {
        wanted = guard_sql("read numbering requests of " + connection_->path(), [&] {
          auto found = numbering_wanted(*connection_, config_.holder);
          connection_->reset_statements();  // no read snapshot kept while idle
          return found;
        });
      }
    } catch (const Error& e) {
      // A statement the writer built refused by a constraint is not the caller's
      // bad input but a failure of the store's: report it as one.
      failure = e.code() == ErrorCode::kInvalidArgument ? Error(ErrorCode::kIO, e.what()) : e;
    }
    // Pins are released outside every lock (this may free whole builds), and before
    // the commit is published: once flush() returns, no committed write pins anything.
    const std::size_t size = batch.size();
    batch.clear();
    if (size != 0) {
      std::lock_guard lock(mu_);
      if (failure) {
        error_ = failure;
      } else {
        committed_ += size;
        ++commits_;
      }
    }
    done_.notify_all();
    if (!wanted.empty() && wanted_) wanted_(wanted);
  }
}

std::vector<std::int64_t> WriteQueue::commit(const std::vector<Pending>& batch) {
  BatchRows rows;
  for (const Pending& pending : batch) rows.add(pending.write);
  const std::string holder =
      watch_numbering_.load(std::memory_order_relaxed) ? config_.holder : std::string();
  for (int attempt = 0;; ++attempt) {
    try {
      return guard_sql(
          "commit " + std::to_string(batch.size()) + " writes to " + connection_->path(),
          [&] { return commit_rows(*connection_, rows.rows(), holder); });
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kBusy || attempt >= config_.busy_retries) throw;
      std::lock_guard lock(mu_);
      ++busy_retries_;
    }
  }
}

}  // namespace buildhist::internal
