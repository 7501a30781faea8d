// Compaction's write transactions: each a bounded step, spaced so that a master
// waiting for the write lock gets it between two of them.
//
// SQLite gives a waiting writer no turn. Its busy handler sleeps and tries again
// (after 1, 2, 5, 10, 15, 20, 25, 25, 25, 50 ... ms), so a connection that takes
// the lock back as soon as it commits can keep a master waiting for seconds, one
// short transaction after another. After each step, compaction therefore stays
// out of the lock for kIdleShare times as long as the step held it (at least
// kMinIdle): a master's retry then falls outside the lock with probability
// kIdleShare / (1 + kIdleShare) each time, whatever their phases. Compaction
// reads and compresses meanwhile, so the pause costs little of its throughput.
#ifndef BUILDHIST_COMPACT_PACED_WRITES_H_
#define BUILDHIST_COMPACT_PACED_WRITES_H_

#include <chrono>
#include <functional>
#include <string>

namespace buildhist::internal {

class Connection;

class PacedWrites {
 public:
  static constexpr int kIdleShare = 2;
  static constexpr std::chrono::milliseconds kMinIdle{2};
  // A step that leaves the WAL holding this many frames is followed by a PASSIVE
  // checkpoint: below the 1000 at which a master's own commit would checkpoint
  // (and wait for the copying), while sparing an fsync of the database per step.
  static constexpr int kCheckpointFrames = 500;

  // In a dry run, run() calls its body outside any transaction, unpaced.
  // Otherwise the connection's commits no longer checkpoint the WAL: run() does.
  PacedWrites(Connection& connection, bool dry_run);
  ~PacedWrites();
  PacedWrites(const PacedWrites&) = delete;
  PacedWrites& operator=(const PacedWrites&) = delete;

  // Waits until the pause after the previous step is over, then runs `body` in one
  // IMMEDIATE transaction and commits it. The failpoint compact.inside_batch is
  // reached in the transaction, after `body`; compact.between_batches after the
  // commit. Throws buildhist::Error naming `what`.
  void run(const std::string& what, const std::function<void()>& body);

  // The same for a step that makes its own transaction (a pragma), which reaches
  // `failpoint_after` once done. REQUIRES: not a dry run.
  void run_own(const std::string& what, const char* failpoint_after,
               const std::function<void()>& body);

 private:
  // Waits out the pause, ending any statement's read first, runs `step`, starts
  // the next pause, reaches `failpoint_after`, then copies the WAL back (PASSIVE,
  // outside the lock) once it holds kCheckpointFrames.
  void paced(const std::string& what, const char* failpoint_after,
             const std::function<void()>& step);

  Connection& connection_;
  const bool dry_run_;
  std::chrono::steady_clock::time_point next_turn_{};
  int wal_frames_ = 0;  // after the connection's last commit
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_COMPACT_PACED_WRITES_H_
