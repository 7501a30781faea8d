// Threads that recompress the logs of one group at a time, while the thread that
// started them reads the next group or writes the previous one.
#ifndef BUILDHIST_COMPACT_COMPRESSION_POOL_H_
#define BUILDHIST_COMPACT_COMPRESSION_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "compact/recompression.h"

namespace buildhist::internal {

class CompressionPool {
 public:
  // Starts `threads` threads (at least one).
  explicit CompressionPool(unsigned threads);
  // Stops the threads once each has finished the job it is on; jobs not begun are
  // left as they are.
  ~CompressionPool();
  CompressionPool(const CompressionPool&) = delete;
  CompressionPool& operator=(const CompressionPool&) = delete;

  // Recompresses every job of `jobs` on the pool's threads (LogJob::compress).
  // REQUIRES: wait() has returned since the previous start(); `jobs` stays alive
  // and untouched by the caller until wait() returns.
  void start(std::span<LogJob> jobs);
  // Waits until every job that start() gave is done; rethrows the first error one
  // of them threw.
  void wait();

 private:
  void work(std::stop_token stop);

  std::mutex mu_;
  std::condition_variable_any work_ready_;
  std::condition_variable all_done_;
  std::span<LogJob> jobs_;      // guarded by mu_
  std::size_t next_ = 0;        // the next job to begin; guarded by mu_
  std::size_t done_ = 0;        // jobs finished; guarded by mu_
  std::exception_ptr error_;    // guarded by mu_
  std::vector<std::jthread> threads_;  // last: stopped and joined first
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_COMPACT_COMPRESSION_POOL_H_
