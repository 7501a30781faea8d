// The writer: persists row writes in order, many to a transaction (group commit).
//
// A write is made in two halves, so that no caller waits while holding a lock:
// admit() waits for room in the queue (backpressure) with no lock held, and
// enqueue() queues the writes under the caller's shard mutex, never blocking, so
// the queue's order is the order the live objects changed in. One thread takes
// everything queued, up to about max_batch writes or max_batch_bytes of log text,
// and commits it as one
// transaction, keeping only the last write of each row in the batch. A batch is
// always a prefix of the queue and never splits a unit (writes queued together,
// like a log chunk and the log's new line count), so every commit leaves the store
// as the objects were at one moment.
//
// Invariants, under mu_:
//  1. queue_.size() + admitted_ <= 2 * max_batch and queued_bytes_ +
//     admitted_bytes_ <= 2 * max_batch_bytes, but for one unit larger than that
//     admitted alone into an empty queue, and for control writes (numbering
//     releases), which are never refused room. queued_bytes_ is the log text of
//     the writes in queue_.
//  2. committed_ <= submitted_, and every write numbered <= committed_ is in the
//     store. Each queued write holds a pin (the build it changes) until it is
//     committed, so an object with writes in flight is never dropped and reloaded
//     stale.
//
// A commit that finds the store locked by another process is retried; one that
// fails otherwise is sticky, as LevelDB's background error is: the writes it held
// are lost, every later admit, enqueue, wait and flush throws, and the store must
// be reopened. Nothing partial is committed.
#ifndef BUILDHIST_STORE_WRITE_QUEUE_H_
#define BUILDHIST_STORE_WRITE_QUEUE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "buildhist/error.h"
#include "sql/status_writer.h"
#include "status/owner.h"

namespace buildhist::internal {

class Connection;

class WriteQueue final : public Admission::Pool {
 public:
  // Called on the writer thread, with no lock held, with the builders this
  // process numbers that another process asked for (see sql/numbering.h).
  using NumberingWanted = std::function<void(const std::vector<std::int64_t>& builder_ids)>;

  struct Config {
    std::size_t max_batch = 5000;
    std::size_t max_batch_bytes = 8 << 20;
    std::string holder;  // this process's numbering token ('' for none)
    int busy_retries = 20;
    // How often an idle writer that numbers builders checks for requests.
    std::chrono::milliseconds numbering_poll{100};
  };

  // Starts the writer thread, which owns `connection` from now on.
  WriteQueue(std::unique_ptr<Connection> connection, Config config, NumberingWanted wanted);
  // Commits what is queued and stops the thread.
  ~WriteQueue();

  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // Room for `writes` writes carrying `bytes` of log text; blocks while the queue
  // is full. REQUIRES: no shard mutex held. Throws Error when the writer has
  // failed or stopped.
  Admission admit(std::size_t writes, std::size_t bytes);

  // Queues `writes` as one unit under `admission` (consumed), holding `pin` until
  // they are committed; returns the sequence number of the last. Never blocks.
  // Throws Error when the writer has failed or stopped.
  std::uint64_t enqueue(Admission& admission, std::span<RowWrite> writes,
                        const std::shared_ptr<const void>& pin);

  // Queues one write that needs no admission (a numbering release). Never blocks.
  std::uint64_t enqueue_control(RowWrite write);

  // Returns once write `sequence` (and every one before it) is committed.
  void wait(std::uint64_t sequence);

  // wait() for everything submitted so far.
  void flush();

  // The writer checks for numbering requests from now on, idle or not.
  void watch_numbering() noexcept { watch_numbering_.store(true, std::memory_order_relaxed); }

  // Commits what is queued, stops the thread and closes the connection; returns the
  // connection's last use to `last` (run on the writer's connection after the final
  // commit, e.g. giving back numbering). Idempotent.
  void stop(const std::function<void(Connection&)>& last = {});

  std::uint64_t commits() const;
  std::uint64_t writes() const;
  // Admissions that had to wait for room (backpressure).
  std::uint64_t admission_waits() const;
  // Writes queued and not yet committed.
  std::uint64_t queued() const;
  // Bytes of log text queued and not yet taken into a batch.
  std::uint64_t queued_bytes() const;
  // Commits that found the store locked by another process and were tried again.
  std::uint64_t busy_retries() const;

  void release(std::size_t writes, std::size_t bytes) noexcept override;

 private:
  struct Pending {
    RowWrite write;
    std::shared_ptr<const void> pin;
    bool ends_unit = true;
    std::size_t bytes = 0;  // of log text (a chunk's)
  };

  void run();
  // Takes the next batch off the queue. REQUIRES: mu_ held, queue_ not empty.
  void take_batch_locked(std::vector<Pending>& batch);
  // Commits `batch` as one transaction, retrying while the store is busy; returns
  // the builders asked of this process. Throws Error on failure.
  std::vector<std::int64_t> commit(const std::vector<Pending>& batch);
  void throw_if_failed_locked() const;

  std::unique_ptr<Connection> connection_;  // used by the writer thread only
  const Config config_;
  const NumberingWanted wanted_;
  std::atomic<bool> watch_numbering_{false};

  mutable std::mutex mu_;
  std::condition_variable work_;   // writes queued, or stop
  std::condition_variable done_;   // a batch committed, room freed, or the writer failed
  std::vector<Pending> queue_;
  std::size_t admitted_ = 0;  // room promised to admissions not yet enqueued
  std::size_t admitted_bytes_ = 0;
  std::size_t queued_bytes_ = 0;
  std::uint64_t submitted_ = 0;
  std::uint64_t committed_ = 0;
  std::uint64_t commits_ = 0;
  std::uint64_t busy_retries_ = 0;
  std::uint64_t admission_waits_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  std::optional<Error> error_;

  std::thread thread_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_STORE_WRITE_QUEUE_H_
