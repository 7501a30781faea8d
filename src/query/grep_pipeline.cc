#include "query/grep_pipeline.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace buildhist::internal {

namespace {

// Frees a buffer that a large chunk grew, so that what the batches keep for reuse
// stays small whatever chunks went through them.
void trim(std::string& buffer) {
  constexpr std::size_t kKeep = 1 << 20;
  if (buffer.capacity() > kKeep) std::string().swap(buffer);
}

}  // namespace

GrepPipeline::GrepPipeline(const GrepMatcher& matcher, unsigned workers)
    : matcher_(matcher), batches_(kBatchesPerWorker * std::max(workers, 1u) + 1) {
  threads_.reserve(std::max(workers, 1u));
  for (unsigned i = 0; i < std::max(workers, 1u); ++i) {
    threads_.emplace_back([this](std::stop_token stop) { work(stop); });
  }
}

GrepPipeline::~GrepPipeline() {
  for (auto& thread : threads_) thread.request_stop();
  threads_.clear();  // joins
}

bool GrepPipeline::full(std::int64_t raw_bytes) const {
  std::lock_guard lock(mu_);
  if (bytes_ == 0 && tail_ == head_ && batches_[tail_ % batches_.size()].count == 0) return false;
  // The batch being filled needs a free place in the ring, and the bytes a bound.
  return tail_ - head_ == batches_.size() || bytes_ + raw_bytes > kMaxBytes;
}

bool GrepPipeline::empty() const {
  std::lock_guard lock(mu_);
  return tail_ == head_ && batches_[tail_ % batches_.size()].count == 0;
}

void GrepPipeline::push(StoredChunk& chunk) {
  std::uint64_t index;
  {
    std::lock_guard lock(mu_);
    assert(tail_ - head_ < batches_.size());
    index = tail_;
    bytes_ += chunk.raw_bytes;
  }
  // Batch `index` is out of the workers' reach until it is published.
  Batch& b = batch(index);
  if (b.count == b.stored.size()) {
    b.stored.emplace_back();
    b.scanned.emplace_back();
  }
  std::swap(b.stored[b.count++], chunk);
  b.bytes += b.stored[b.count - 1].raw_bytes;
  if (b.bytes >= kBatchBytes) publish();
}

void GrepPipeline::publish() {
  {
    std::lock_guard lock(mu_);
    Batch& b = batch(tail_);
    assert(b.count > 0);
    b.done = false;
    b.error = nullptr;
    b.taken = 0;
    ++tail_;
  }
  work_ready_.notify_one();
}

const ScannedChunk& GrepPipeline::front() {
  std::unique_lock lock(mu_);
  if (head_ == tail_) {
    // The oldest chunk is in the batch being filled: it goes as it is.
    lock.unlock();
    publish();
    lock.lock();
  }
  Batch& b = batch(head_);
  scanned_.wait(lock, [&] { return b.done; });
  if (b.error) std::rethrow_exception(b.error);
  assert(b.taken < b.count);
  return b.scanned[b.taken];
}

void GrepPipeline::pop() {
  Batch* popped;
  {
    std::lock_guard lock(mu_);
    Batch& b = batch(head_);
    assert(head_ < next_ && b.done && b.taken < b.count);
    bytes_ -= b.stored[b.taken].raw_bytes;
    if (++b.taken < b.count) return;
    ++head_;
    assert(bytes_ >= 0);
    popped = &b;
  }
  // Out of the workers' reach again, until it is filled and published anew.
  Batch& b = *popped;
  for (std::size_t i = 0; i < b.count; ++i) {
    trim(b.stored[i].content);
    b.stored[i].dictionary.reset();
    trim(b.scanned[i].text);
  }
  b.count = 0;
  b.bytes = 0;
}

void GrepPipeline::scan(Batch& b, ChunkDecoder& decoder) const {
  for (std::size_t i = 0; i < b.count; ++i) scan_chunk(matcher_, decoder, b.stored[i], b.scanned[i]);
}

void GrepPipeline::work(std::stop_token stop) {
  ChunkDecoder decoder;
  std::unique_lock lock(mu_);
  for (;;) {
    if (!work_ready_.wait(lock, stop, [&] { return next_ < tail_; })) return;
    Batch& b = batch(next_++);
    lock.unlock();
    try {
      scan(b, decoder);
    } catch (...) {
      b.error = std::current_exception();
    }
    lock.lock();
    b.done = true;
    scanned_.notify_one();
  }
}

}  // namespace buildhist::internal
