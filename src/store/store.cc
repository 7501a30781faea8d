#include "buildhist/store.h"

#include "buildhist/error.h"
#include "cache/shard.h"
#include "store/store_impl.h"
#include "util/input_rules.h"

namespace buildhist {

std::unique_ptr<Store> Store::open(const std::string& path, const Options& options) {
  return std::unique_ptr<Store>(new Store(std::make_shared<internal::StoreImpl>(path, options)));
}

Store::Store(std::shared_ptr<internal::StoreImpl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
  try {
    impl_->close();
  } catch (...) {
    // A destructor never throws; flush() before closing reports writer failures.
  }
}

const std::string& Store::path() const noexcept { return impl_->path(); }

const Options& Store::options() const noexcept { return impl_->options(); }

std::shared_ptr<Build> Store::start_build(std::string_view builder, const BuildStart& start,
                                          Durability durability) {
  // Every field before the builder's shard, which writes a new builder's row.
  internal::require_build_start(builder, start);
  impl_->check_writable();  // refuses a read-only store before anything is created
  return impl_->shard(builder, /*create=*/true)->start(start, durability);
}

std::shared_ptr<Build> Store::build(std::string_view builder, int number) {
  if (number < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "build numbers start at 1, not " + std::to_string(number));
  }
  auto shard = impl_->shard(builder, /*create=*/false);
  return shard ? shard->get(number, internal::StatusOwner::Via::kLookup) : nullptr;
}

std::vector<std::shared_ptr<Build>> Store::history(std::string_view builder,
                                                   const HistoryPage& page) {
  auto shard = impl_->shard(builder, /*create=*/false);
  return shard ? shard->page(page) : std::vector<std::shared_ptr<Build>>{};
}

void Store::flush() { impl_->flush(); }

CacheStats Store::stats() const { return impl_->stats(); }

}  // namespace buildhist
