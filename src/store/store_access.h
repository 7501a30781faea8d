// The inside of a public Store, for the library's layers above the store (the
// query side, compaction): never for users, who see only include/buildhist.
#ifndef BUILDHIST_STORE_STORE_ACCESS_H_
#define BUILDHIST_STORE_STORE_ACCESS_H_

#include "buildhist/store.h"
#include "store/store_impl.h"

namespace buildhist::internal {

struct StoreAccess {
  static StoreImpl& impl(Store& store) noexcept { return *store.impl_; }
  // For tests: every cache shard of the store.
  static std::vector<std::shared_ptr<Shard>> shards(Store& store) { return impl(store).shards(); }
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_STORE_STORE_ACCESS_H_
