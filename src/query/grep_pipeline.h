// grep's chunks decoded and scanned on every core, and handed back in the order
// they were given: the thread that reads the store pushes chunks in log order and
// takes each back, scanned, in that order, while worker threads scan the ones
// after it. Chunks go to the workers in batches of about kBatchBytes: a log's
// chunk takes microseconds, a thread's wake-up as long.
//
// Invariants: head_ <= next_ <= tail_ <= head_ + batches_.size() (under mu_); the
// batches [head_, next_) have been claimed by a worker, [next_, tail_) wait for
// one, and batch tail_ is the one being filled, which no worker sees until it is
// published; a batch's `done` is set once, by the worker that claimed it; bytes_
// counts the raw bytes of [head_, tail_) and of the batch being filled, and
// passes kMaxBytes only by a chunk that came when nothing else was in flight.
#ifndef BUILDHIST_QUERY_GREP_PIPELINE_H_
#define BUILDHIST_QUERY_GREP_PIPELINE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "query/grep_chunk.h"
#include "query/grep_matcher.h"

namespace buildhist::internal {

class GrepPipeline {
 public:
  static constexpr std::int64_t kBatchBytes = 256 << 10;  // a batch is published at this size
  static constexpr std::size_t kBatchesPerWorker = 4;     // batches in flight at most
  static constexpr std::int64_t kMaxBytes = 64 << 20;     // raw bytes in flight at most

  // Starts `workers` threads (at least one). Borrows `matcher`.
  GrepPipeline(const GrepMatcher& matcher, unsigned workers);
  // Stops the workers once each has finished the batch it is on.
  ~GrepPipeline();
  GrepPipeline(const GrepPipeline&) = delete;
  GrepPipeline& operator=(const GrepPipeline&) = delete;

  // Whether a chunk of `raw_bytes` must wait until the oldest is taken.
  bool full(std::int64_t raw_bytes) const;
  bool empty() const;

  // Queues a chunk, whose fields are swapped with a used one's (buffers are
  // reused). REQUIRES: !full(its raw_bytes).
  void push(StoredChunk& chunk);
  // The oldest chunk pushed, once scanned; valid until pop(). Rethrows the error
  // scanning its batch threw. REQUIRES: !empty().
  const ScannedChunk& front();
  void pop();

 private:
  struct Batch {
    // Slots [0, count) are this batch's; those after are buffers kept for reuse.
    std::vector<StoredChunk> stored;
    std::vector<ScannedChunk> scanned;
    std::size_t count = 0;
    std::int64_t bytes = 0;
    std::size_t taken = 0;  // chunks popped
    bool done = false;
    std::exception_ptr error;
  };

  Batch& batch(std::uint64_t index) { return batches_[index % batches_.size()]; }
  void publish();  // makes batch tail_ the workers'
  void work(std::stop_token stop);
  void scan(Batch& batch, ChunkDecoder& decoder) const;

  const GrepMatcher& matcher_;
  std::vector<Batch> batches_;  // a ring, indexed by position mod size

  mutable std::mutex mu_;
  std::condition_variable_any work_ready_;
  std::condition_variable scanned_;
  std::uint64_t head_ = 0;  // the oldest batch not popped
  std::uint64_t next_ = 0;  // the next batch for a worker
  std::uint64_t tail_ = 0;  // the batch being filled
  std::int64_t bytes_ = 0;

  std::vector<std::jthread> threads_;  // last: stopped and joined first
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_QUERY_GREP_PIPELINE_H_
