// Fixed-size blocks carved from a few large chunks, for one builder's builds.
//
// A cache hit returns a shared_ptr, so it must write the build's reference count:
// the one memory access a hit cannot avoid. Builds made by the heap land between
// their steps' and logs' allocations, one build every few kilobytes, so with
// thousands resident each hit touches its own page and misses the TLB and the CPU
// caches. Taken from a pool, a builder's builds (with their reference counts,
// through std::allocate_shared) lie side by side, and the resident ones fit in a
// few hundred pages.
//
// The pool keeps what it has carved until it is destroyed: its size is bounded by
// the most builds of the builder alive at one time, which the cache bounds.
// Thread-safe: a build may be freed on any thread.
#ifndef BUILDHIST_CACHE_BLOCK_POOL_H_
#define BUILDHIST_CACHE_BLOCK_POOL_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace buildhist::internal {

class BlockPool {
 public:
  BlockPool() = default;
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  // A block of `size` bytes aligned for any object, or nullptr when `size` is not
  // the size this pool serves (the first size asked for fixes it).
  void* allocate(std::size_t size);
  // Returns a block that allocate() handed out.
  void deallocate(void* block) noexcept;
  // Whether allocate(size) hands out this pool's blocks: then a block of that size
  // came from here (once fixed, the block size never changes).
  bool owns_size(std::size_t size) const noexcept {
    return size == size_.load(std::memory_order_acquire);
  }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  // Blocks start on a cache line, so that a build's reference counts and its first
  // fields are one line.
  static constexpr std::size_t kLine = 64;
  static constexpr std::size_t kFirstChunkBlocks = 64;
  struct ChunkDelete {
    void operator()(std::byte* chunk) const noexcept {
      ::operator delete(chunk, std::align_val_t(kLine));
    }
  };
  static constexpr std::size_t kMaxChunkBlocks = 4096;

  std::mutex mu_;
  std::atomic<std::size_t> size_{0};  // the size served; 0 until the first allocation
  // Guarded by mu_.
  std::size_t stride_ = 0;  // size_ rounded up to keep every block aligned
  FreeBlock* free_ = nullptr;
  std::byte* carve_ = nullptr;  // the uncarved rest of the newest chunk
  std::size_t carve_left_ = 0;  // blocks left there
  std::vector<std::unique_ptr<std::byte, ChunkDelete>> chunks_;
};

// An allocator for std::allocate_shared that takes single objects of one size
// from a BlockPool, and anything else from the heap. Each copy keeps the pool
// alive, so a control block frees into it even after the cache is gone.
template <typename T>
class PoolAllocator {
 public:
  using value_type = T;

  explicit PoolAllocator(std::shared_ptr<BlockPool> pool) noexcept : pool_(std::move(pool)) {}
  template <typename U>
  PoolAllocator(const PoolAllocator<U>& other) noexcept : pool_(other.pool_) {}

  T* allocate(std::size_t n) {
    if (n == 1 && alignof(T) <= alignof(std::max_align_t)) {
      if (void* block = pool_->allocate(sizeof(T))) return static_cast<T*>(block);
    }
    return std::allocator<T>().allocate(n);
  }

  void deallocate(T* p, std::size_t n) noexcept {
    if (n == 1 && alignof(T) <= alignof(std::max_align_t) && pool_->owns_size(sizeof(T))) {
      pool_->deallocate(p);
    } else {
      std::allocator<T>().deallocate(p, n);
    }
  }

  template <typename U>
  bool operator==(const PoolAllocator<U>& other) const noexcept {
    return pool_ == other.pool_;
  }

 private:
  template <typename U>
  friend class PoolAllocator;
  std::shared_ptr<BlockPool> pool_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_CACHE_BLOCK_POOL_H_
