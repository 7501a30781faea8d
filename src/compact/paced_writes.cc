#include "compact/paced_writes.h"

#include <algorithm>
#include <cassert>
#include <thread>

#include "sql/connection.h"
#include "sql/maintenance.h"
#include "util/failpoint.h"

namespace buildhist::internal {

using Clock = std::chrono::steady_clock;

PacedWrites::PacedWrites(Connection& connection, bool dry_run)
    : connection_(connection), dry_run_(dry_run) {
  if (!dry_run_) count_wal_frames(connection_, &wal_frames_);
}

PacedWrites::~PacedWrites() {
  if (!dry_run_) count_wal_frames(connection_, nullptr);
}

void PacedWrites::run(const std::string& what, const std::function<void()>& body) {
  if (dry_run_) {
    guard_sql(what, [&] {
      body();
      connection_.reset_statements();
    });
    return;
  }
  paced(what, "compact.between_batches", [&] {
    in_write_transaction(connection_, [&] {
      body();
      failpoint("compact.inside_batch");
    });
  });
}

void PacedWrites::run_own(const std::string& what, const char* failpoint_after,
                          const std::function<void()>& body) {
  assert(!dry_run_);
  paced(what, failpoint_after, body);
}

void PacedWrites::paced(const std::string& what, const char* failpoint_after,
                        const std::function<void()>& step) {
  guard_sql(what, [&] {
    // A pause holds neither the lock nor a snapshot that would keep the
    // checkpoint from copying the WAL back.
    connection_.reset_statements();
    assert(!in_transaction(connection_));
    std::this_thread::sleep_until(next_turn_);
    const Clock::time_point start = Clock::now();
    step();
    const Clock::time_point end = Clock::now();
    next_turn_ = end + std::max<Clock::duration>(kMinIdle, (end - start) * kIdleShare);
    failpoint(failpoint_after);
    if (wal_frames_ >= kCheckpointFrames) {
      checkpoint_passive(connection_);
      wal_frames_ = 0;
    }
  });
}

}  // namespace buildhist::internal
