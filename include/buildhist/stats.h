// buildhist: the figures that prove the cache's invariants.
#ifndef BUILDHIST_STATS_H_
#define BUILDHIST_STATS_H_

#include <cstdint>

namespace buildhist {

struct CacheStats {
  std::uint64_t hits = 0;       // lookups answered by a live object
  std::uint64_t misses = 0;     // lookups that had to load from SQLite
  std::uint64_t refaults = 0;   // of the misses: a parent reloaded through a child's handle
  std::uint64_t evictions = 0;  // builds the LRU let go of
  std::uint64_t in_flight_waits = 0;  // lookups that waited for another thread's load of the key
  std::uint64_t resident_builds = 0;  // builds held by the LRU's own references
  std::uint64_t live_builds = 0;      // build objects alive, whoever holds them
  std::uint64_t live_steps = 0;
  std::uint64_t live_logs = 0;
  std::uint64_t sql_statements = 0;   // statements stepped, by readers and the writer
  std::uint64_t commits = 0;          // group commits by the writer
  std::uint64_t writes = 0;           // writes committed
  std::uint64_t queued_writes = 0;    // written to live objects, not yet committed
  std::uint64_t queued_bytes = 0;     // of log text in the queue, not yet in a batch
  std::uint64_t admission_waits = 0;  // writes that waited for room in the writer's queue
  std::uint64_t busy_retries = 0;     // commits tried again: another process held the store's lock
};

}  // namespace buildhist

#endif  // BUILDHIST_STATS_H_
