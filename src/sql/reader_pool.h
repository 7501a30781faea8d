// Reader connections of one store, pooled: each lease is one connection used by
// one thread, given back (its statements reset, so it pins no snapshot) when the
// lease ends. Thread-safe.
#ifndef BUILDHIST_SQL_READER_POOL_H_
#define BUILDHIST_SQL_READER_POOL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sql/connection.h"

namespace buildhist::internal {

class ReaderPool {
 public:
  // `counter` counts every statement of every reader; it must outlive the pool.
  ReaderPool(std::string path, Connection::Mode mode, std::chrono::milliseconds busy_timeout,
             std::size_t max_idle, std::atomic<std::uint64_t>* counter);

  class Lease {
   public:
    Lease(ReaderPool& pool, std::unique_ptr<Connection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  Lease take();
  // Adds an open connection to the idle ones (the probe that opened the store).
  void give(std::unique_ptr<Connection> connection);
  // Closes the idle connections.
  void clear();

 private:
  const std::string path_;
  const Connection::Mode mode_;
  const std::chrono::milliseconds busy_timeout_;
  const std::size_t max_idle_;
  std::atomic<std::uint64_t>* const counter_;

  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_READER_POOL_H_
