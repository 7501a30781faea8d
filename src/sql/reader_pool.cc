#include "sql/reader_pool.h"

namespace buildhist::internal {

ReaderPool::ReaderPool(std::string path, Connection::Mode mode,
                       std::chrono::milliseconds busy_timeout, std::size_t max_idle,
                       std::atomic<std::uint64_t>* counter)
    : path_(std::move(path)),
      mode_(mode),
      busy_timeout_(busy_timeout),
      max_idle_(max_idle),
      counter_(counter) {}

ReaderPool::Lease::~Lease() {
  if (connection_) pool_->give(std::move(connection_));
}

ReaderPool::Lease ReaderPool::take() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
  }
  return Lease(*this, std::make_unique<Connection>(path_, mode_, busy_timeout_, counter_));
}

void ReaderPool::give(std::unique_ptr<Connection> connection) {
  connection->reset_statements();
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(connection));
}

void ReaderPool::clear() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

}  // namespace buildhist::internal
