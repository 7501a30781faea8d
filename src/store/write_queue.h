// The writer: persists row writes in order, many to a transaction (group commit).
//
// Callers queue writes under their shard's mutex (so the queue's order is the order
// the live objects changed in) and return at once. One thread takes everything
// queued, up to about max_batch writes, and commits it as one transaction, keeping
// only the last write of each row in the batch. A batch is always a prefix of the
// queue and never splits a unit (writes queued together, like a log chunk and the
// log's new line count), so every commit leaves the store as the objects were at
// one moment.
//
// Each queued write holds a pin (the build it changes) until it is committed, so
// an object with writes in flight is never dropped and reloaded stale.
//
// A failed commit is sticky, as LevelDB's background error is: the writes it held
// are lost, every later submit, wait and flush throws, and the store must be
// reopened. Nothing partial is committed.
#ifndef BUILDHIST_WRITE_QUEUE_H_
#define BUILDHIST_WRITE_QUEUE_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "buildhist/error.h"
#include "sql/status_writer.h"

namespace buildhist::internal {

class Connection;

class WriteQueue {
 public:
  // Starts the writer thread, which owns `connection` from now on.
  WriteQueue(std::unique_ptr<Connection> connection, std::size_t max_batch);
  // Commits what is queued and stops the thread.
  ~WriteQueue();

  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // Queues `writes` as one unit, holding `pin` until they are committed; returns
  // the sequence number of the last. Blocks while the queue is full (two batches)
  // (backpressure). Throws Error when the writer has failed or stopped.
  std::uint64_t submit(std::span<RowWrite> writes, const std::shared_ptr<const void>& pin);
  std::uint64_t submit(RowWrite write, const std::shared_ptr<const void>& pin) {
    return submit(std::span<RowWrite>(&write, 1), pin);
  }

  // Returns once write `sequence` (and every one before it) is committed.
  void wait(std::uint64_t sequence);

  // wait() for everything submitted so far.
  void flush();

  // Commits what is queued, stops the thread and closes the connection. Idempotent.
  void stop();

  std::uint64_t commits() const;
  std::uint64_t writes() const;

 private:
  struct Pending {
    RowWrite write;
    std::shared_ptr<const void> pin;
    bool ends_unit = true;
  };

  void run();
  // Commits `batch` as one transaction; throws Error on failure.
  void commit(const std::vector<Pending>& batch);
  void throw_if_failed_locked() const;

  std::unique_ptr<Connection> connection_;  // used by the writer thread only
  const std::size_t max_batch_;

  mutable std::mutex mu_;
  std::condition_variable work_;   // writes queued, or stop
  std::condition_variable done_;   // a batch committed, or the writer failed
  std::vector<Pending> queue_;
  std::uint64_t submitted_ = 0;
  std::uint64_t committed_ = 0;
  std::uint64_t commits_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  std::optional<Error> error_;

  std::thread thread_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_WRITE_QUEUE_H_
