#include "cache/block_pool.h"

#include <algorithm>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// Free and uncarved blocks are poisoned, so that AddressSanitizer reports a use of
// a freed build as it would for the heap.
#define BUILDHIST_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define BUILDHIST_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define BUILDHIST_POISON(p, n) ((void)(p), (void)(n))
#define BUILDHIST_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace buildhist::internal {

void* BlockPool::allocate(std::size_t size) {
  std::lock_guard lock(mu_);
  if (stride_ == 0) {
    stride_ = (std::max(size, sizeof(FreeBlock)) + kLine - 1) / kLine * kLine;
    size_.store(size, std::memory_order_release);
  } else if (size != size_.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  if (free_ != nullptr) {
    FreeBlock* block = free_;
    BUILDHIST_UNPOISON(block, stride_);
    free_ = block->next;
    return block;
  }
  if (carve_left_ == 0) {
    const std::size_t blocks =
        std::min(kMaxChunkBlocks, kFirstChunkBlocks << std::min<std::size_t>(chunks_.size(), 6));
    chunks_.emplace_back(static_cast<std::byte*>(
        ::operator new(blocks * stride_, std::align_val_t(kLine))));
    carve_ = chunks_.back().get();
    carve_left_ = blocks;
    BUILDHIST_POISON(carve_, blocks * stride_);
  }
  void* block = carve_;
  BUILDHIST_UNPOISON(block, stride_);
  carve_ += stride_;
  --carve_left_;
  return block;
}

void BlockPool::deallocate(void* block) noexcept {
  std::lock_guard lock(mu_);
  free_ = new (block) FreeBlock{free_};
  BUILDHIST_POISON(block, stride_);
}

}  // namespace buildhist::internal
