// The inside of a Store: the engine (its connections, its writer, the numbering of
// builds) and the map of its cache shards, one a builder.
//
// Lock order: shards_mu_, then a shard's mutex, then the write queue's. Nothing
// waits for SQLite or another thread while holding shards_mu_: a builder's shard is
// opened once (single flight, through opening_) with no lock held.
#ifndef BUILDHIST_STORE_STORE_IMPL_H_
#define BUILDHIST_STORE_STORE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "buildhist/options.h"
#include "buildhist/stats.h"
#include "cache/engine.h"
#include "sql/connection.h"
#include "sql/reader_pool.h"

namespace buildhist::internal {

class Shard;
class WriteQueue;

class StoreImpl final : public Engine {
 public:
  // Opens (creating or migrating as the options allow) the store at `path`.
  StoreImpl(std::string path, Options options);
  ~StoreImpl();

  StoreImpl(const StoreImpl&) = delete;
  StoreImpl& operator=(const StoreImpl&) = delete;

  const std::string& path() const noexcept { return path_; }
  const Options& options() const noexcept { return options_; }

  // Engine.
  ReaderPool::Lease reader() override;
  Admission admit(std::size_t writes, std::size_t bytes) override;
  std::uint64_t enqueue(Admission& admission, std::span<RowWrite> writes,
                        const std::shared_ptr<const void>& pin) override;
  void wait(std::uint64_t sequence) override;
  std::uint64_t enqueue_control(RowWrite write) override;
  NumberingState acquire_numbering(std::string_view builder) override;
  ClaimedBuild claim_build(const BuildClaim& claim) override;

  // The builder's shard; for an unknown builder, a new one when `create` (the
  // builder's row is written at once), else nullptr. May wait for SQLite, with no
  // lock held.
  std::shared_ptr<Shard> shard(std::string_view builder, bool create);

  // Throws Error(kFailedPrecondition) for a read-only store, kClosed once closed.
  void check_writable() const;
  void flush();

  CacheStats stats() const;

  // Every shard, for whole-cache checks in tests.
  std::vector<std::shared_ptr<Shard>> shards() const;

  // Commits what is queued, stops the writer, gives back the numbering of the
  // builders this process held and drops the cache. Idempotent.
  void close();

 private:
  WriteQueue& writes() const;
  std::shared_ptr<Shard> open_shard(std::string_view builder, bool create);
  // Called on the writer's thread: other processes want these builders.
  void hand_over(const std::vector<std::int64_t>& builder_ids);
  // Waits until builder `builder_id` is no longer held by `holder`; throws
  // Error(kBusy) naming it past the busy timeout.
  void wait_for_handover(std::string_view builder, std::int64_t builder_id,
                         const std::string& holder);

  const std::string path_;
  const Options options_;
  const std::string holder_;  // this Store's name in the numbering table
  std::atomic<std::uint64_t> statements_{0};
  std::unique_ptr<ReaderPool> readers_;

  // For numbering transactions, one thread at a time (writers only).
  std::mutex numbering_mu_;
  std::unique_ptr<Connection> numbering_connection_;

  // Hashes a builder's name as std::string or std::string_view alike, so that a
  // lookup by string_view makes no string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>()(name);
    }
  };
  template <typename T>
  using ByName = std::unordered_map<std::string, T, NameHash, std::equal_to<>>;

  // Shared by lookups, exclusive only to enter or leave a shard or an opening.
  mutable std::shared_mutex shards_mu_;
  ByName<std::shared_ptr<Shard>> shards_;
  ByName<std::shared_future<std::shared_ptr<Shard>>> opening_;
  bool closed_ = false;

  std::unique_ptr<WriteQueue> writes_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_STORE_STORE_IMPL_H_
