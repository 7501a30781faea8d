// The recency list of a cache shard: a doubly linked list of slots linked by index.
//
// A cache hit moves its entry to the front. In a list of heap nodes (std::list)
// that writes to the moved node and to both of its neighbours, three nodes
// scattered over the heap: with thousands of resident builds, three cache misses
// a hit. Here the links are one compact array of their own (two 32-bit indices a
// slot, 8 KiB for a thousand builds) and the values another, so a move touches
// only the links, which stay in the CPU's caches. A slot's index is a stable
// handle for the caller to keep beside its key.
//
// Not thread-safe: the shard's mutex guards it.
#ifndef BUILDHIST_CACHE_LRU_LIST_H_
#define BUILDHIST_CACHE_LRU_LIST_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace buildhist::internal {

template <typename T>
class LruList {
 public:
  using Slot = std::uint32_t;
  static constexpr Slot kNoSlot = std::numeric_limits<Slot>::max();

  LruList() : links_(1, Links{kHead, kHead}), values_(1) {}

  LruList(const LruList&) = delete;
  LruList& operator=(const LruList&) = delete;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // The value in `slot`, which must be in the list.
  T& at(Slot slot) noexcept {
    assert(slot != kHead && slot < values_.size());
    return values_[slot];
  }
  const T& at(Slot slot) const noexcept {
    assert(slot != kHead && slot < values_.size());
    return values_[slot];
  }

  // The least recently used value. REQUIRES: !empty().
  const T& back() const noexcept {
    assert(!empty());
    return values_[links_[kHead].prev];
  }

  // Inserts `value` as the most recently used; returns its slot, which stays its
  // handle until it leaves the list.
  Slot push_front(T value) {
    Slot slot;
    if (free_ != kNoSlot) {
      slot = free_;
      free_ = links_[slot].next;
      values_[slot] = std::move(value);
    } else {
      assert(links_.size() < kNoSlot);
      slot = static_cast<Slot>(links_.size());
      links_.emplace_back();
      values_.push_back(std::move(value));
    }
    link_front(slot);
    ++size_;
    return slot;
  }

  // Makes the value in `slot` the most recently used.
  void move_to_front(Slot slot) noexcept {
    assert(slot != kHead && slot < links_.size());
    if (links_[kHead].next == slot) return;
    unlink(slot);
    link_front(slot);
  }

  // Removes the least recently used value and returns it. REQUIRES: !empty().
  T pop_back() {
    assert(!empty());
    const Slot slot = links_[kHead].prev;
    unlink(slot);
    T value = std::move(values_[slot]);
    values_[slot] = T();
    links_[slot].next = free_;
    free_ = slot;
    --size_;
    return value;
  }

  // Calls `visit(slot, value)` for each value, most recently used first.
  template <typename Visit>
  void for_each(Visit visit) const {
    for (Slot slot = links_[kHead].next; slot != kHead; slot = links_[slot].next) {
      visit(slot, values_[slot]);
    }
  }

  // Empties the list and returns its values, most recently used first.
  std::vector<T> take_all() {
    std::vector<T> values;
    values.reserve(size_);
    for (Slot slot = links_[kHead].next; slot != kHead; slot = links_[slot].next) {
      values.push_back(std::move(values_[slot]));
    }
    links_.assign(1, Links{kHead, kHead});
    values_.resize(1);
    free_ = kNoSlot;
    size_ = 0;
    return values;
  }

 private:
  // Slot 0 is the list's head: its next is the front, its prev the back.
  static constexpr Slot kHead = 0;

  struct Links {
    Slot prev = kNoSlot;
    Slot next = kNoSlot;  // for a free slot: the next free slot
  };

  void unlink(Slot slot) noexcept {
    const Links links = links_[slot];
    links_[links.prev].next = links.next;
    links_[links.next].prev = links.prev;
  }

  void link_front(Slot slot) noexcept {
    const Slot front = links_[kHead].next;
    links_[slot] = Links{kHead, front};
    links_[front].prev = slot;
    links_[kHead].next = slot;
  }

  std::vector<Links> links_;
  std::vector<T> values_;  // values_[kHead] is unused
  Slot free_ = kNoSlot;  // free slots, linked through next
  std::size_t size_ = 0;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_CACHE_LRU_LIST_H_
