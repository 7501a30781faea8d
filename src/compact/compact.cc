// compact(): the phases of a compaction in order: retention, recompression,
// giving space back. Each phase keeps the invariants stated in compaction.h.
#include "buildhist/compact.h"

#include <optional>
#include <vector>

#include "buildhist/error.h"
#include "buildhist/store.h"
#include "compact/compaction.h"
#include "compact/recompression.h"
#include "compact/retention.h"
#include "compact/vacuum.h"
#include "store/process_token.h"
#include "util/file_size.h"

namespace buildhist {

namespace {

using internal::BuilderRange;
using internal::Compaction;
using internal::Connection;

// The database and its WAL, as `stats` counts them.
std::int64_t bytes_on_disk(const std::string& path) {
  return internal::file_size_or_zero(path) + internal::file_size_or_zero(path + "-wal");
}

// Marks the store as being compacted by this process for the mark's lifetime;
// throws Error(kBusy) naming the process of a compaction already running.
class CompactionMark {
 public:
  explicit CompactionMark(Connection& connection)
      : connection_(connection), holder_(internal::new_process_token()) {
    if (const auto running =
            internal::begin_compaction(connection_, holder_, internal::process_is_gone)) {
      throw Error(ErrorCode::kBusy, connection_.path() + ": another compact is running on it (" +
                                        internal::describe_token(*running) + ")");
    }
  }
  ~CompactionMark() {
    try {
      internal::end_compaction(connection_, holder_);
    } catch (const Error&) {
      // A mark left behind is taken over once its process is gone.
    }
  }
  CompactionMark(const CompactionMark&) = delete;
  CompactionMark& operator=(const CompactionMark&) = delete;

 private:
  Connection& connection_;
  const std::string holder_;
};

CompactReport run_phases(const std::string& path, const CompactOptions& options) {
  Compaction compaction(path, options);
  // One compaction at a time: a second would count what the first deletes.
  std::optional<CompactionMark> mark;
  if (!options.dry_run) mark.emplace(compaction.connection());
  CompactReport& report = compaction.report();
  report.bytes_on_disk_before = bytes_on_disk(path);
  const std::vector<BuilderRange> builders = internal::guard_sql(
      "list builders of " + path, [&] { return internal::builder_ranges(compaction.connection()); });
  if (options.keep_builds || options.older_than) {
    for (const BuilderRange& builder : builders) internal::delete_builds(compaction, builder);
  }
  if (options.logs_older_than) {
    for (const BuilderRange& builder : builders) internal::purge_logs(compaction, builder);
  }
  if (options.compress) internal::recompress_logs(compaction, builders);
  if (options.vacuum && !options.dry_run) internal::give_space_back(compaction);
  report.bytes_on_disk_after = bytes_on_disk(path);
  return report;
}

}  // namespace

CompactReport compact(const std::string& path, const CompactOptions& options) {
  if (options.keep_builds && *options.keep_builds < 1) {
    throw Error(ErrorCode::kInvalidArgument, "--keep-builds must be at least 1");
  }
  for (const auto& duration : {options.older_than, options.logs_older_than}) {
    if (duration && *duration < 0) {
      throw Error(ErrorCode::kInvalidArgument, "a retention duration cannot be negative");
    }
  }
  if (options.batch_builds < 1) {
    throw Error(ErrorCode::kInvalidArgument, "compact needs at least one build a batch");
  }
  {
    // Refuses what is not a store of this buildhist, and upgrades an older one
    // (but for a dry run, which changes nothing: an older store is refused).
    Options open;
    open.create_if_missing = false;
    open.read_only = options.dry_run;
    open.busy_timeout = options.busy_timeout;
    Store::open(path, open);
  }
  return run_phases(path, options);
}

}  // namespace buildhist
