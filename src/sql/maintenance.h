// The SQL of `compact`: choosing what to delete, deleting it, rewriting a log's
// chunks, reclaiming free pages. Every call is bounded (a batch of builds, one
// build's logs) so that the caller can keep each transaction short.
#ifndef BUILDHIST_SQL_MAINTENANCE_H_
#define BUILDHIST_SQL_MAINTENANCE_H_

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

// Replaces every chunk of the log with `chunks`.
void replace_chunks(Connection& connection, std::int64_t log_id,
                    const std::vector<StoredChunk>& chunks);

// PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental.
int auto_vacuum_mode(Connection& connection);
std::int64_t free_pages(Connection& connection);
// Gives back up to `pages` free pages to the file system (incremental mode).
void incremental_vacuum(Connection& connection, int pages);

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
