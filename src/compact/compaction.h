// What every phase of one compaction shares: its options, its connection, its
// report, the pacing of its write transactions and its progress lines.
//
// The invariants every phase keeps (asserted where they must hold):
//  - A write transaction does a bounded step (a batch of builds, a group of logs
//    of bounded size, a bounded number of pages) and goes through PacedWrites, so
//    that a master waiting for the write lock gets it between two steps.
//  - Nothing slow happens while the write lock is held: reading and compressing
//    log text happen before, in a read snapshot and on other threads, and a
//    write re-checks that what it rewrites is still what was read.
//  - A step is all or nothing: killed at any point, the store holds every step
//    before it and none of the one in progress.
//  - A running build (no complete_at) and a builder's newest build are never
//    deleted; only complete logs are rewritten.
#ifndef BUILDHIST_COMPACT_COMPACTION_H_
#define BUILDHIST_COMPACT_COMPACTION_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "buildhist/compact.h"
#include "compact/paced_writes.h"
#include "sql/connection.h"
#include "sql/maintenance.h"

namespace buildhist::internal {

class Compaction {
 public:
  Compaction(const std::string& path, const CompactOptions& options);

  const CompactOptions& options() const { return options_; }
  bool dry_run() const { return options_.dry_run; }
  std::int64_t now() const { return now_; }
  Connection& connection() { return connection_; }
  CompactReport& report() { return report_; }
  PacedWrites& writes() { return writes_; }

  // Reports `line` unless a line went out less than a second ago (a store of a
  // million builds is ten thousand batches); `always` for a step of its own.
  void progress(const std::string& line, bool always = false);

  // Calls `batch(picks, ids)` for each batch of the builder's finished builds that
  // pick_builds() chooses (ids as a JSON array), in number order.
  template <typename Batch>
  void for_each_batch(const BuilderRange& builder, int number_at_most,
                      std::int64_t finished_before, Batch batch) {
    for (int after = 0;;) {
      const std::vector<BuildPick> picks = next_batch(builder, after, number_at_most,
                                                      finished_before);
      if (picks.empty()) return;
      after = picks.back().number;
      batch(picks, id_array(picks));
    }
  }

  std::vector<BuildPick> next_batch(const BuilderRange& builder, int after, int number_at_most,
                                    std::int64_t finished_before);
  static std::string id_array(const std::vector<BuildPick>& picks);

 private:
  const CompactOptions& options_;
  const std::int64_t now_;
  Connection connection_;
  PacedWrites writes_;
  CompactReport report_;
  std::chrono::steady_clock::time_point last_progress_{};
};

// `builder` with its newest build among those pick_builds() may choose: deleting it
// would restart the numbering, but its log text may go, and its logs be recompressed.
BuilderRange through_newest(BuilderRange builder);

}  // namespace buildhist::internal

#endif  // BUILDHIST_COMPACT_COMPACTION_H_
