#include "compact/compression_pool.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace buildhist::internal {

CompressionPool::CompressionPool(unsigned threads) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    threads_.emplace_back([this](std::stop_token stop) { work(stop); });
  }
}

CompressionPool::~CompressionPool() {
  for (std::jthread& thread : threads_) thread.request_stop();
  // Each jthread joins as it is destroyed, waking from work_ready_ on its stop.
}

void CompressionPool::start(std::span<LogJob> jobs) {
  {
    std::lock_guard lock(mu_);
    assert(next_ == jobs_.size() && done_ == jobs_.size());  // the previous batch waited for
    jobs_ = jobs;
    next_ = 0;
    done_ = 0;
    error_ = nullptr;
  }
  work_ready_.notify_all();
}

void CompressionPool::wait() {
  std::unique_lock lock(mu_);
  all_done_.wait(lock, [&] { return done_ == jobs_.size(); });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void CompressionPool::work(std::stop_token stop) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!work_ready_.wait(lock, stop, [&] { return next_ < jobs_.size(); })) return;
    LogJob& job = jobs_[next_++];
    lock.unlock();
    std::exception_ptr error;
    try {
      job.compress();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !error_) error_ = error;
    if (++done_ == jobs_.size()) all_done_.notify_all();
  }
}

}  // namespace buildhist::internal
