// buildhist: keeping a store small (DESIGN.md, Maintenance).
//
// compact() deletes what the retention policy says, recompresses finished logs
// with zstd into larger chunks (with a dictionary per builder, trained on its own
// logs), and gives the freed pages back to the file system.
// It runs while a master writes into the same store: every phase works in bounded
// steps, each its own short transaction, spaced so that a master waiting for the
// write lock gets it; log text is read and compressed (on every core) outside the
// transactions, and the final WAL checkpoint never waits for a writer. It never
// touches a running build (one without complete_at) or a builder's newest build,
// so that numbering carries on. Killed at any point, the store holds every step
// before it and nothing of the one in progress; compacting again finishes the job.
#ifndef BUILDHIST_COMPACT_H_
#define BUILDHIST_COMPACT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace buildhist {

struct CompactOptions {
  // Retention: a finished build is deleted when it is not among the newest
  // `keep_builds` of its builder, or when it finished more than `older_than`
  // seconds before `now`. Neither given: nothing is deleted.
  std::optional<int> keep_builds;
  std::optional<std::int64_t> older_than;
  // The log text (not the logs' rows) of builds finished more than this before
  // `now` is deleted; such a log keeps its name, type and num_lines, and is
  // marked purged at `now` (LogRecord::purged_at).
  std::optional<std::int64_t> logs_older_than;
  bool compress = true;  // recompress finished logs into larger zstd chunks
  // With compress: per builder, a zstd dictionary trained on a sample of its
  // finished logs (retrained as the builder's logs drift), and its logs
  // recompressed with it (codec 2). False: plain zstd (codec 1) for logs still to
  // recompress; logs already compressed with a dictionary stay as they are.
  bool dictionaries = true;
  bool vacuum = true;    // give freed pages back to the file system
  bool dry_run = false;  // count what would be done, change nothing
  std::int64_t now = 0;  // epoch seconds; 0 means the current time
  std::chrono::milliseconds busy_timeout{5000};
  // Builds per transaction when deleting; recompression reads its logs in batches
  // of as many builds, and rewrites them about 1 MiB of stored chunks a transaction.
  int batch_builds = 20;
  // Called with a line of progress now and then; may be empty.
  std::function<void(std::string_view)> progress;
};

struct CompactReport {
  bool dry_run = false;
  // Deleted (or, in a dry run, to be deleted) by retention.
  std::int64_t builds_deleted = 0;
  std::int64_t steps_deleted = 0;
  std::int64_t logs_deleted = 0;
  std::int64_t chunks_deleted = 0;
  std::int64_t chunk_bytes_deleted = 0;
  // Logs whose text was deleted by logs_older_than.
  std::int64_t logs_purged = 0;
  std::int64_t purged_bytes = 0;
  // Recompression: logs rewritten, and their chunks and stored bytes before and after
  // (in a dry run, the logs that would be considered and what they store now).
  std::int64_t logs_compressed = 0;
  std::int64_t chunks_before = 0;
  std::int64_t chunks_after = 0;
  std::int64_t stored_bytes_before = 0;
  std::int64_t stored_bytes_after = 0;
  // zstd dictionaries trained and stored, and those deleted as no chunk used them.
  std::int64_t dictionaries_trained = 0;
  std::int64_t dictionaries_deleted = 0;
  // The database file and its WAL.
  std::int64_t bytes_on_disk_before = 0;
  std::int64_t bytes_on_disk_after = 0;
};

// Compacts the store at `path`, which must exist. Throws buildhist::Error:
// kInvalidArgument for a bad option, kIO for a missing store, others as Store::open.
// A failure part-way leaves every batch before it done and nothing half-done.
CompactReport compact(const std::string& path, const CompactOptions& options);

}  // namespace buildhist

#endif  // BUILDHIST_COMPACT_H_
