// The inside of a Store: its connections, its writer, its cache shards.
#ifndef BUILDHIST_STORE_IMPL_H_
#define BUILDHIST_STORE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "buildhist/options.h"
#include "buildhist/stats.h"
#include "sql/connection.h"

namespace buildhist::internal {

class Shard;
class WriteQueue;

class StoreImpl {
 public:
  // Opens (creating or migrating as the options allow) the store at `path`.
  StoreImpl(std::string path, Options options);
  ~StoreImpl();

  StoreImpl(const StoreImpl&) = delete;
  StoreImpl& operator=(const StoreImpl&) = delete;

  const std::string& path() const noexcept { return path_; }
  const Options& options() const noexcept { return options_; }

  // A reader connection for the lease's lifetime, taken from a pool.
  class ReaderLease {
   public:
    ReaderLease(StoreImpl& store, std::unique_ptr<Connection> connection)
        : store_(&store), connection_(std::move(connection)) {}
    ReaderLease(ReaderLease&& other) noexcept = default;
    ReaderLease& operator=(ReaderLease&&) = delete;
    ~ReaderLease();

    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }

   private:
    StoreImpl* store_;
    std::unique_ptr<Connection> connection_;
  };
  ReaderLease reader();

  // The writer. Throws Error(kFailedPrecondition) for a read-only store, and
  // Error(kClosed) once the store is closed.
  WriteQueue& writes();

  // The builder's shard; for an unknown builder, a new one when `create` (the
  // builder's row is queued for writing), else nullptr.
  std::shared_ptr<Shard> shard(std::string_view builder, bool create);

  enum class IdKind { kBuilder, kBuild, kStep, kLog };
  // A row id no row of that kind has: this process is the store's only writer.
  std::int64_t next_id(IdKind kind) noexcept;

  std::atomic<std::uint64_t>& statement_counter() noexcept { return statements_; }

  CacheStats stats() const;

  // Every shard, for whole-cache checks in tests.
  std::vector<std::shared_ptr<Shard>> shards() const;

  // Commits what is queued, stops the writer and drops the cache. Idempotent.
  void close();

 private:
  void return_reader(std::unique_ptr<Connection> connection);

  const std::string path_;
  const Options options_;
  std::atomic<std::uint64_t> statements_{0};
  std::atomic<std::int64_t> last_ids_[4] = {};

  mutable std::mutex readers_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;

  // Hashes a builder's name as std::string or std::string_view alike, so that a
  // lookup by string_view makes no string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>()(name);
    }
  };

  // Shared by lookups, exclusive only while a builder's shard is created.
  mutable std::shared_mutex shards_mu_;
  std::unordered_map<std::string, std::shared_ptr<Shard>, NameHash, std::equal_to<>> shards_;
  bool closed_ = false;

  std::unique_ptr<WriteQueue> writes_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_STORE_IMPL_H_
