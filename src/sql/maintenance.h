// The SQL of `compact`: choosing what to delete, deleting it, rewriting a log's
// chunks, reclaiming free pages. Every call is bounded (a batch of builds, one
// build's logs) so that the caller can keep each transaction short.
#ifndef BUILDHIST_SQL_MAINTENANCE_H_
#define BUILDHIST_SQL_MAINTENANCE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/log_codec.h"

namespace buildhist::internal {

class Connection;

struct BuilderRange {
  std::int64_t id = 0;
  std::string name;
  int newest = 0;  // the builder's highest build number
};

// Every builder that has builds.
std::vector<BuilderRange> builder_ranges(Connection& connection);

// Finished builds of `builder`, in number order after `after`, below its newest
// build (never deleted, so that numbering carries on), and numbered at most
// `number_at_most` or finished before `finished_before`. At most `limit`.
struct BuildPick {
  std::int64_t id = 0;
  int number = 0;
};
std::vector<BuildPick> pick_builds(Connection& connection, const BuilderRange& builder, int after,
                                   int number_at_most, std::int64_t finished_before, int limit);

// What lies under a set of builds (ids as a JSON array).
struct Contents {
  std::int64_t steps = 0;
  std::int64_t logs = 0;
  std::int64_t logs_with_text = 0;
  std::int64_t chunks = 0;
  std::int64_t chunk_bytes = 0;  // stored, as on disk
};
Contents contents_of(Connection& connection, const std::string& build_ids);

// Deletes the builds and, by cascade, everything under them.
void delete_builds(Connection& connection, const std::string& build_ids);

// Deletes the text of the builds' logs, marking each log that had some as purged
// at `now` (its num_lines stays).
void purge_log_text(Connection& connection, const std::string& build_ids, std::int64_t now);

// A stored chunk, as read back.
struct StoredChunk {
  std::int64_t first_line = 0;
  std::int64_t last_line = 0;
  ChunkCodec codec = ChunkCodec::kText;
  std::int64_t raw_bytes = 0;
  std::string content;
  std::optional<std::int64_t> dictionary_id;  // codec 2's dictionary
};

// The complete logs of the builds (ids as a JSON array) with a chunk that is not
// in the form recompression gives: zstd with one of the builder's dictionaries
// when `with_dictionary` (the builder has one), else plain zstd. What
// recompression can improve. A log of one text chunk under `min_text_bytes` is
// left alone (a line or two that zstd could not shrink is not tried again by
// every compaction).
std::vector<std::int64_t> logs_to_compress(Connection& connection, const std::string& build_ids,
                                           std::int64_t min_text_bytes, bool with_dictionary);

std::vector<StoredChunk> read_chunks(Connection& connection, std::int64_t log_id);

// What identifies the chunks of a log as they stand: a log rewritten or deleted
// since its chunks were read no longer matches them.
struct ChunkSignature {
  std::int64_t chunks = 0;
  std::int64_t last_line = -1;
  std::int64_t stored_bytes = 0;
  bool operator==(const ChunkSignature&) const = default;
};
ChunkSignature signature_of(const std::vector<StoredChunk>& chunks);
ChunkSignature chunk_signature(Connection& connection, std::int64_t log_id);

// Replaces every chunk of the log with `chunks`.
void replace_chunks(Connection& connection, std::int64_t log_id,
                    const std::vector<StoredChunk>& chunks);

// PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental.
int auto_vacuum_mode(Connection& connection);
std::int64_t free_pages(Connection& connection);
// Gives back up to `pages` free pages to the file system (incremental mode), in
// a transaction of its own.
void incremental_vacuum(Connection& connection, int pages);
// Rewrites the whole store once in incremental auto-vacuum mode (a store made
// before it), holding the write lock meanwhile.
void enable_incremental_vacuum(Connection& connection);

// Whether a transaction is open on the connection.
bool in_transaction(Connection& connection);

// Runs `body` in one IMMEDIATE transaction and commits it; rolls it back if
// `body` throws.
void in_write_transaction(Connection& connection, const std::function<void()>& body);

// Stops the connection's commits from checkpointing the WAL themselves (its
// caller checkpoints between its steps, outside the lock), and has each commit
// store the frames the WAL then holds in `*frames` instead; a null `frames`
// removes the hook. REQUIRES: `*frames` outlives the hook.
void count_wal_frames(Connection& connection, int* frames);
// Copies what the WAL holds into the database as far as readers allow, without
// holding writers up (a PASSIVE checkpoint).
void checkpoint_passive(Connection& connection);

// Copies the WAL into the database without holding writers up (PASSIVE), then
// truncates it only if that takes no wait: with no busy timeout, a writer or
// reader in the way makes TRUNCATE give up at once. Restores `busy_timeout`.
// Returns whether the WAL was truncated.
bool checkpoint(Connection& connection, std::chrono::milliseconds busy_timeout);

// Marks a compaction as running for `holder` (a row in meta), in one transaction;
// if one already runs for a holder `gone` does not say is gone, writes nothing and
// returns that holder.
std::optional<std::string> begin_compaction(
    Connection& connection, const std::string& holder,
    const std::function<bool(const std::string&)>& gone);
// Ends the compaction `holder` began.
void end_compaction(Connection& connection, const std::string& holder);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_MAINTENANCE_H_
