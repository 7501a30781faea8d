#include "store/write_queue.h"

#include <chrono>
#include <map>
#include <unordered_map>
#include <utility>

#include <SQLiteCpp/Transaction.h>

#include "sql/connection.h"

namespace buildhist::internal {

namespace {

// How many times a commit that found the store locked (a compaction in another
// process, say) is tried again, each after the busy timeout, before failing.
constexpr int kBusyRetries = 20;

// The row a write replaces within one batch: rows with an id are keyed by kind
// and id, properties by build and name; chunks are never coalesced.
class BatchRows {
 public:
  void add(const RowWrite& write) {
    if (const auto* property = std::get_if<PropertyWrite>(&write)) {
      place(properties_[{property->build_id, property->property.name}], write);
      return;
    }
    if (std::holds_alternative<ChunkWrite>(write)) {
      rows_.push_back(&write);
      return;
    }
    const auto id = std::visit(
        [](const auto& row) -> std::int64_t {
          if constexpr (requires { row.id; }) {
            return row.id;
          } else {
            return 0;
          }
        },
        write);
    const auto key = (static_cast<std::uint64_t>(write.index()) << 56) ^
                     static_cast<std::uint64_t>(id);
    place(by_id_[key], write);
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
  std::unordered_map<std::uint64_t, Slot> by_id_;
  std::map<std::pair<std::int64_t, std::string>, Slot> properties_;
};

}  // namespace

WriteQueue::WriteQueue(std::unique_ptr<Connection> connection, std::size_t max_batch)
    : connection_(std::move(connection)),
      max_batch_(max_batch == 0 ? 1 : max_batch),
      thread_([this] { run(); }) {}

WriteQueue::~WriteQueue() { stop(); }

std::uint64_t WriteQueue::submit(std::span<RowWrite> writes,
                                 const std::shared_ptr<const void>& pin) {
  std::unique_lock lock(mu_);
  // Backpressure: a producer faster than SQLite waits rather than growing the
  // queue without bound.
  done_.wait(lock, [&] { return queue_.size() < 2 * max_batch_ || error_ || stopping_; });
  throw_if_failed_locked();
  if (stopping_) throw Error(ErrorCode::kClosed, "write to a store that is being closed");
  const bool was_empty = queue_.empty();
  for (std::size_t i = 0; i < writes.size(); ++i) {
    queue_.push_back(Pending{std::move(writes[i]), pin, i + 1 == writes.size()});
  }
  submitted_ += writes.size();
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

void WriteQueue::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_one();
  done_.notify_all();
  if (thread_.joinable()) thread_.join();
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

void WriteQueue::throw_if_failed_locked() const {
  if (error_) {
    throw Error(error_->code(), std::string("the store's writer failed, writes since its last "
                                            "commit are lost: ") + error_->what());
  }
}

void WriteQueue::run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() || error_) {
        if (stopping_ || error_) {
          stopped_ = true;
          done_.notify_all();
          return;
        }
        continue;
      }
      if (queue_.size() <= max_batch_) {
        batch.swap(queue_);
      } else {
        std::size_t take = max_batch_;
        while (!queue_[take - 1].ends_unit) ++take;  // never split a unit
        const auto cut = queue_.begin() + static_cast<std::ptrdiff_t>(take);
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(cut));
        queue_.erase(queue_.begin(), cut);
      }
    }
    std::optional<Error> failure;
    try {
      commit(batch);
    } catch (const Error& e) {
      failure = e;
    }
    // Pins are released outside every lock (this may free whole builds), and before
    // the commit is published: once flush() returns, no committed write pins anything.
    const std::size_t size = batch.size();
    batch.clear();
    {
      std::lock_guard lock(mu_);
      if (failure) {
        error_ = failure;
      } else {
        committed_ += size;
        ++commits_;
      }
    }
    done_.notify_all();
  }
}

void WriteQueue::commit(const std::vector<Pending>& batch) {
  BatchRows rows;
  for (const Pending& pending : batch) rows.add(pending.write);
  for (int attempt = 0;; ++attempt) {
    try {
      guard_sql("commit " + std::to_string(batch.size()) + " writes to " + connection_->path(),
                [&] {
                  SQLite::Transaction transaction(connection_->db(),
                                                  SQLite::TransactionBehavior::IMMEDIATE);
                  for (const RowWrite* row : rows.rows()) apply_row_write(*connection_, *row);
                  transaction.commit();
                });
      return;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kBusy || attempt >= kBusyRetries) throw;
    }
  }
}

}  // namespace buildhist::internal
