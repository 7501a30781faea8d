#include "compact/paced_writes.h"

#include <algorithm>
#include <thread>

#include "sql/connection.h"
#include "sql/maintenance.h"
#include "util/failpoint.h"

namespace buildhist::internal {

using Clock = std::chrono::steady_clock;

PacedWrites::PacedWrites(Connection& connection, bool dry_run)
    : connection_(connection), dry_run_(dry_run) {}

void PacedWrites::wait_turn() { std::this_thread::sleep_until(next_turn_); }

void PacedWrites::took_turn(Clock::time_point start) {
  const Clock::time_point end = Clock::now();
  next_turn_ = end + std::max<Clock::duration>(kMinIdle, (end - start) * kIdleShare);
}

void PacedWrites::run(const std::string& what, const std::function<void()>& body) {
  guard_sql(what, [&] {
    if (dry_run_) {
      body();
      connection_.reset_statements();
      return;
    }
    wait_turn();
    const Clock::time_point start = Clock::now();
    in_write_transaction(connection_, [&] {
      body();
      failpoint("compact.inside_batch");
    });
    took_turn(start);
    failpoint("compact.between_batches");
    checkpoint_passive(connection_);
  });
}

}  // namespace buildhist::internal
