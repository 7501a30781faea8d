#include "compact/vacuum.h"

#include "util/failpoint.h"

namespace buildhist::internal {

namespace {

// Pages a step: half a MiB of 4 KiB pages moved, a few milliseconds of writing.
constexpr int kVacuumPages = 128;

void release_free_pages(Compaction& compaction) {
  Connection& connection = compaction.connection();
  std::int64_t left = free_pages(connection);
  if (left > 0) {
    compaction.progress("compact: giving " + std::to_string(left) + " free pages back", true);
  }
  while (left > 0) {
    compaction.writes().run_own("give free pages back", "compact.vacuum",
                                [&] { incremental_vacuum(connection, kVacuumPages); });
    const std::int64_t now_left = free_pages(connection);
    if (now_left >= left) break;  // nothing more can be given back
    left = now_left;
  }
}

}  // namespace

void give_space_back(Compaction& compaction) {
  Connection& connection = compaction.connection();
  guard_sql("reclaim free pages", [&] {
    if (auto_vacuum_mode(connection) != 2) {
      compaction.progress("compact: rewriting the store once to enable incremental vacuum", true);
      enable_incremental_vacuum(connection);
    }
    release_free_pages(compaction);
    failpoint("compact.checkpoint");
    const bool truncated = checkpoint(connection, compaction.options().busy_timeout);
    compaction.progress(truncated ? "compact: WAL checkpointed and truncated"
                                  : "compact: WAL checkpointed; left its size, as another "
                                    "process was using it",
                        true);
  });
}

}  // namespace buildhist::internal
