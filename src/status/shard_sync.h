// What a builder's status objects share with their cache shard and outlive it with:
// the mutex that guards them all, the builder's name, and the live-object counters.
// It owns no object, so holding it can pin nothing.
#ifndef BUILDHIST_STATUS_SHARD_SYNC_H_
#define BUILDHIST_STATUS_SHARD_SYNC_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace buildhist::internal {

struct ShardSync {
  ShardSync(std::string builder_name, std::int64_t builder_row_id)
      : builder(std::move(builder_name)), builder_id(builder_row_id) {}

  std::mutex mu;
  const std::string builder;
  const std::int64_t builder_id;  // the builder's row in the store
  // Objects constructed and not yet destroyed, whoever holds them.
  std::atomic<std::int64_t> live_builds{0};
  std::atomic<std::int64_t> live_steps{0};
  std::atomic<std::int64_t> live_logs{0};
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_STATUS_SHARD_SYNC_H_
