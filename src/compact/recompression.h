// Recompression: rewriting finished logs' chunks as larger zstd chunks, with the
// compression off the write lock and on every core (see compaction.h for the
// invariants).
//
// A group of logs (at most kGroupStoredBytes of stored chunks, from one batch of
// builds) is read in one read snapshot, recompressed by a CompressionPool, then
// written in one paced transaction that rewrites only the logs whose chunks are
// still those that were read. While the pool compresses one group, this thread
// writes the one before and reads the one after.
#ifndef BUILDHIST_COMPACT_RECOMPRESSION_H_
#define BUILDHIST_COMPACT_RECOMPRESSION_H_

#include <cstdint>
#include <vector>

#include "sql/maintenance.h"

namespace buildhist::internal {

class Compaction;

class LogCompressor;

// `chunks` (a log's, in line order, none compressed with a dictionary) rewritten
// as chunks of about 1 MiB of text, each compressed by `compressor` unless that
// would not make it smaller (a line or two of text). Thread-safe.
std::vector<StoredChunk> recompress_chunks(const std::vector<StoredChunk>& chunks,
                                           LogCompressor& compressor);

// One log to recompress: its chunks as read, and as rewritten.
struct LogJob {
  std::int64_t log_id = 0;
  std::vector<StoredChunk> old_chunks;
  // old_chunks with their dictionary chunks decoded to text, when they have any
  // (decoding needs the connection's dictionaries, which only the reading thread
  // may touch); empty otherwise.
  std::vector<StoredChunk> source;
  std::vector<StoredChunk> new_chunks;
  LogCompressor* compressor = nullptr;  // the builder's; outlives the job

  void compress() {
    new_chunks = recompress_chunks(source.empty() ? old_chunks : source, *compressor);
  }
  // Whether new_chunks store the log in fewer bytes, or as many in fewer chunks.
  bool better() const;
};

// Recompresses the complete logs of every build of `builders` that can be improved.
void recompress_logs(Compaction& compaction, const std::vector<BuilderRange>& builders);

}  // namespace buildhist::internal

#endif  // BUILDHIST_COMPACT_RECOMPRESSION_H_
