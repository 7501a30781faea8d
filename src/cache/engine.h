// What a cache shard needs from the store's engine, and nothing more: reader
// connections, the writer's two halves, and the numbering of builds.
//
// The store (src/store/) implements it; the cache sits below the store and sees
// only this. Thread-safe: every method may be called from any thread.
#ifndef BUILDHIST_CACHE_ENGINE_H_
#define BUILDHIST_CACHE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "sql/numbering.h"
#include "sql/reader_pool.h"
#include "sql/status_writer.h"
#include "status/owner.h"

namespace buildhist::internal {

class Engine {
 public:
  virtual ReaderPool::Lease reader() = 0;

  // The writer's halves (see store/write_queue.h). admit() may block: REQUIRES no
  // shard mutex held. enqueue() never blocks. Both throw Error(kFailedPrecondition)
  // for a read-only store, kClosed once it is closed, and the writer's error.
  virtual Admission admit(std::size_t writes, std::size_t bytes) = 0;
  virtual std::uint64_t enqueue(Admission& admission, std::span<RowWrite> writes,
                                const std::shared_ptr<const void>& pin) = 0;
  virtual void wait(std::uint64_t sequence) = 0;
  // A write that needs no admission (a numbering release). Never blocks.
  virtual std::uint64_t enqueue_control(RowWrite write) = 0;

  // Takes the builder's numbering (sql/numbering.h), creating the builder if it is
  // new; waits while another process hands it over. Never kWaiting. Blocks on
  // SQLite: REQUIRES no shard mutex held. Throws Error(kBusy) naming the holder if
  // it does not hand the builder over in time.
  virtual NumberingState acquire_numbering(std::string_view builder) = 0;

  // Numbers a build of a shared builder through the database, waiting while
  // another process hands the builder over. Same REQUIRES and errors.
  virtual ClaimedBuild claim_build(const BuildClaim& claim) = 0;

 protected:
  ~Engine() = default;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_CACHE_ENGINE_H_
