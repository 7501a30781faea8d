// buildhist: options of a Store and of single writes.
#ifndef BUILDHIST_OPTIONS_H_
#define BUILDHIST_OPTIONS_H_

#include <chrono>
#include <cstddef>

namespace buildhist {

// How durable a write is when the call that made it returns.
enum class Durability {
  // Applied to the live object at once, committed by the writer's next group
  // commit. Store::flush() waits for it.
  kBuffered,
  // The call returns once this write (and every write before it) is committed.
  kImmediate,
};

// What a commit survives.
enum class Sync {
  kProcessCrash,  // WAL with synchronous=NORMAL: a crash of the process loses nothing committed
  kPowerLoss,     // synchronous=FULL: also a crash of the machine, at an fsync per commit
};

struct Options {
  // Builds each builder's cache keeps resident by its own strong references.
  // Builds referenced from outside stay resident beyond this, never evicted.
  std::size_t cache_capacity = 256;

  // How long a statement waits for a lock held by another connection or process.
  std::chrono::milliseconds busy_timeout{5000};

  // Open only to read: never creates the file, never writes, starts no writer.
  bool read_only = false;

  // With read_only false: create the store when the file does not exist.
  bool create_if_missing = true;

  Sync sync = Sync::kProcessCrash;

  // The most writes one group commit takes from the queue. Writers wait once two
  // batches are queued, so this also bounds the memory writes in flight hold (each
  // pins its build until committed): a build of the reference workload is 78
  // writes, so 5000 is about 64 builds. It keeps a master's memory flat at
  // SQLite's ingest rate (bench/memory_flatness.sh).
  std::size_t max_batch = 5000;

  // The most log text one group commit takes from the queue, and so (as with
  // max_batch: two batches queued, one committing) what log text in flight costs a
  // master's memory, whatever the size of its appends: about 3 x 8 MiB.
  std::size_t max_batch_bytes = 8 << 20;

  // Connections kept open for readers (each used by one thread at a time).
  std::size_t max_idle_readers = 4;
};

}  // namespace buildhist

#endif  // BUILDHIST_OPTIONS_H_
