// Giving freed pages back to the file system, and the WAL's frames to the
// database, in bounded steps that never hold a master up for long (see
// compaction.h for the invariants).
#ifndef BUILDHIST_COMPACT_VACUUM_H_
#define BUILDHIST_COMPACT_VACUUM_H_

#include "compact/compaction.h"

namespace buildhist::internal {

// Gives the store's free pages back, kVacuumPages a step, then checkpoints the
// WAL (PASSIVE; truncated only when nothing waits). A store made before
// incremental vacuum is first rewritten once, in that mode, under the write lock:
// the one step that is not bounded, and says so in a progress line.
void give_space_back(Compaction& compaction);

}  // namespace buildhist::internal

#endif  // BUILDHIST_COMPACT_VACUUM_H_
