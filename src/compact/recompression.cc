#include "compact/recompression.h"

#include <cassert>
#include <climits>
#include <deque>
#include <memory>
#include <thread>

#include "compact/compaction.h"
#include "compact/compression_pool.h"
#include "compact/dictionaries.h"
#include "sql/dictionary_cache.h"
#include "sql/dictionary_rows.h"
#include "util/chunk_decoder.h"
#include "util/log_codec.h"

namespace buildhist::internal {

namespace {

// Recompressed chunks hold whole stored chunks up to about this much text: large
// enough for zstd to find the repetition across a log, small enough that reading
// from a line in the middle decodes little.
constexpr std::int64_t kChunkTextBytes = 1 << 20;
constexpr int kZstdLevel = 6;
// A log stored as one text chunk smaller than this is left as it is.
constexpr std::int64_t kMinCompressBytes = 256;
// A group of logs holds about this many stored bytes (or one larger log): what a
// write transaction rewrites, and about twice what a group holds in memory.
constexpr std::int64_t kGroupStoredBytes = 1 << 20;

std::int64_t stored_bytes(const std::vector<StoredChunk>& chunks) {
  return signature_of(chunks).stored_bytes;
}

// Whether two chunk lists hold the same lines: the same range, as many bytes of text.
[[maybe_unused]] bool same_text(const std::vector<StoredChunk>& old_chunks,
                                const std::vector<StoredChunk>& new_chunks) {
  const auto text_bytes = [](const std::vector<StoredChunk>& chunks) {
    std::int64_t bytes = 0;
    for (const StoredChunk& chunk : chunks) bytes += chunk.raw_bytes;
    return bytes;
  };
  return !old_chunks.empty() && !new_chunks.empty() &&
         old_chunks.front().first_line == new_chunks.front().first_line &&
         old_chunks.back().last_line == new_chunks.back().last_line &&
         text_bytes(old_chunks) == text_bytes(new_chunks);
}

// The logs of one batch of builds that a write transaction rewrites.
struct LogGroup {
  std::string builder;
  int up_to_build = 0;  // the batch's last build number
  std::shared_ptr<LogCompressor> compressor;  // the builder's, which its jobs use
  std::vector<LogJob> jobs;
};

// `chunks` with each chunk compressed with a dictionary decoded to text (codec 0).
std::vector<StoredChunk> with_dictionaries_decoded(Connection& connection,
                                                   const std::vector<StoredChunk>& chunks) {
  std::vector<StoredChunk> decoded = chunks;
  ChunkDecoder decoder;
  for (StoredChunk& chunk : decoded) {
    if (chunk.codec != ChunkCodec::kZstdDictionary) continue;
    const ZSTD_DDict_s* dictionary = connection.dictionaries().find(chunk.dictionary_id);
    chunk.content = std::string(decoder.decode(chunk.codec, chunk.content, chunk.raw_bytes,
                                               dictionary));
    chunk.codec = ChunkCodec::kText;
    chunk.dictionary_id.reset();
  }
  return decoded;
}

bool has_dictionary_chunks(const std::vector<StoredChunk>& chunks) {
  for (const StoredChunk& chunk : chunks) {
    if (chunk.codec == ChunkCodec::kZstdDictionary) return true;
  }
  return false;
}

// The groups of every builder's logs to recompress, in order, each read in a
// read snapshot of its own.
class LogGroups {
 public:
  LogGroups(Compaction& compaction, const std::vector<BuilderRange>& builders)
      : compaction_(compaction), builders_(builders) {}

  // The next group, or null when every builder is done.
  std::unique_ptr<LogGroup> next() {
    while (logs_.empty()) {
      if (!next_batch()) return nullptr;
    }
    auto group = std::make_unique<LogGroup>();
    group->builder = builders_[builder_].name;
    group->up_to_build = after_;
    group->compressor = compressor_;
    Connection& connection = compaction_.connection();
    guard_sql("read logs of " + group->builder, [&] {
      ReadSnapshot snapshot(connection);
      for (std::int64_t bytes = 0; !logs_.empty() && bytes < kGroupStoredBytes;) {
        LogJob job;
        job.log_id = logs_.front();
        job.old_chunks = read_chunks(connection, job.log_id);
        if (has_dictionary_chunks(job.old_chunks)) {
          job.source = with_dictionaries_decoded(connection, job.old_chunks);
        }
        job.compressor = group->compressor.get();
        logs_.pop_front();
        bytes += stored_bytes(job.old_chunks);
        group->jobs.push_back(std::move(job));
      }
    });
    return group;
  }

 private:
  // Moves on to the next batch of builds with logs to recompress; false when none.
  bool next_batch() {
    while (builder_ < builders_.size()) {
      const BuilderRange range = through_newest(builders_[builder_]);
      const std::vector<BuildPick> picks = compaction_.next_batch(range, after_, INT_MAX, 0);
      if (picks.empty()) {
        ++builder_;
        after_ = 0;
        compressor_.reset();
        continue;
      }
      if (!compressor_) choose_compressor(range);
      after_ = picks.back().number;
      const std::string ids = Compaction::id_array(picks);
      const std::vector<std::int64_t> logs = guard_sql("choose logs of " + range.name, [&] {
        return logs_to_compress(compaction_.connection(), ids, kMinCompressBytes,
                                compressor_->has_dictionary());
      });
      logs_.assign(logs.begin(), logs.end());
      return true;
    }
    return false;
  }

  // The compressor for the builder's logs, with its zstd dictionary, trained first
  // when compact/dictionaries.cc's policy says so (training reads and computes
  // outside any write transaction; storing the dictionary is one short write).
  void choose_compressor(const BuilderRange& builder) {
    DictionaryChoice choice = guard_sql("choose the compressor of " + builder.name, [&] {
      return internal::choose_compressor(compaction_.connection(), builder.id, builder.newest,
                                         kZstdLevel, compaction_.options().dictionaries,
                                         !compaction_.dry_run(), compaction_.now());
    });
    compressor_ = std::move(choice.compressor);
    if (choice.trained) {
      ++compaction_.report().dictionaries_trained;
      compaction_.progress("compact: " + builder.name + ": trained a zstd dictionary", true);
    }
  }

  Compaction& compaction_;
  const std::vector<BuilderRange>& builders_;
  std::size_t builder_ = 0;
  int after_ = 0;  // the last build number of the builder's current batch
  std::shared_ptr<LogCompressor> compressor_;  // the current builder's
  std::deque<std::int64_t> logs_;  // of the current batch, not yet in a group
};

// Deletes the dictionaries of `builders` that no chunk uses any more (but each
// builder's newest), a builder a paced transaction.
void drop_unused_dictionaries(Compaction& compaction, const std::vector<BuilderRange>& builders) {
  for (const BuilderRange& builder : builders) {
    compaction.writes().run("delete unused dictionaries of " + builder.name, [&] {
      compaction.report().dictionaries_deleted +=
          delete_unused_dictionaries(compaction.connection(), builder.id);
    });
  }
}

void count_considered(CompactReport& report, const LogJob& job) {
  ++report.logs_compressed;
  report.chunks_before += static_cast<std::int64_t>(job.old_chunks.size());
  report.stored_bytes_before += stored_bytes(job.old_chunks);
}

void count_rewritten(CompactReport& report, const LogJob& job) {
  count_considered(report, job);
  report.chunks_after += static_cast<std::int64_t>(job.new_chunks.size());
  report.stored_bytes_after += stored_bytes(job.new_chunks);
}

// Rewrites the group's improved logs whose chunks are still as read, in one
// paced transaction; counts them once it is committed.
void write_group(Compaction& compaction, const LogGroup& group) {
  std::vector<const LogJob*> rewritten;
  compaction.writes().run("recompress logs of " + group.builder, [&] {
    rewritten.clear();
    for (const LogJob& job : group.jobs) {
      if (!job.better()) continue;
      if (chunk_signature(compaction.connection(), job.log_id) != signature_of(job.old_chunks)) {
        continue;  // rewritten or deleted since it was read
      }
      assert(same_text(job.old_chunks, job.new_chunks));
      replace_chunks(compaction.connection(), job.log_id, job.new_chunks);
      rewritten.push_back(&job);
    }
  });
  for (const LogJob* job : rewritten) count_rewritten(compaction.report(), *job);
  compaction.progress("compact: " + group.builder + ": recompressed logs up to build " +
                      std::to_string(group.up_to_build));
}

}  // namespace

std::vector<StoredChunk> recompress_chunks(const std::vector<StoredChunk>& chunks,
                                           LogCompressor& compressor) {
  std::vector<StoredChunk> rewritten;
  std::string text;
  std::string scratch;
  StoredChunk pending;
  const auto flush = [&] {
    if (text.empty()) return;
    pending.raw_bytes = static_cast<std::int64_t>(text.size());
    compressor.compress(text, pending);
    rewritten.push_back(std::move(pending));
    pending = StoredChunk();
    text.clear();
  };
  for (const StoredChunk& chunk : chunks) {
    assert(chunk.codec != ChunkCodec::kZstdDictionary);
    if (text.empty()) pending.first_line = chunk.first_line;
    text += decode_chunk(chunk.codec, chunk.content, chunk.raw_bytes, scratch);
    pending.last_line = chunk.last_line;
    if (static_cast<std::int64_t>(text.size()) >= kChunkTextBytes) flush();
  }
  flush();
  return rewritten;
}

bool LogJob::better() const {
  const std::int64_t old_bytes = stored_bytes(old_chunks);
  const std::int64_t new_bytes = stored_bytes(new_chunks);
  return new_bytes < old_bytes ||
         (new_bytes == old_bytes && new_chunks.size() < old_chunks.size());
}

void recompress_logs(Compaction& compaction, const std::vector<BuilderRange>& builders) {
  LogGroups groups(compaction, builders);
  if (compaction.dry_run()) {
    while (const auto group = groups.next()) {
      for (const LogJob& job : group->jobs) count_considered(compaction.report(), job);
      compaction.progress("compact: " + group->builder + ": would recompress logs up to build " +
                          std::to_string(group->up_to_build));
    }
    return;
  }
  // Declared before the pool, so that the pool's threads stop before the groups
  // they may be compressing go.
  std::unique_ptr<LogGroup> current = groups.next();
  std::unique_ptr<LogGroup> next;
  CompressionPool pool(std::thread::hardware_concurrency());
  if (current) pool.start(current->jobs);
  while (current) {
    next = groups.next();  // read while the pool compresses `current`
    pool.wait();
    if (next) pool.start(next->jobs);
    write_group(compaction, *current);  // write while it compresses `next`
    current = std::move(next);
  }
  drop_unused_dictionaries(compaction, builders);
}

}  // namespace buildhist::internal
