#include "buildhist/compact.h"

#include <chrono>
#include <climits>
#include <ctime>
#include <limits>
#include <vector>

#include <SQLiteCpp/Transaction.h>

#include "buildhist/error.h"
#include "buildhist/store.h"
#include "util/file_size.h"
#include "util/log_codec.h"
#include "sql/connection.h"
#include "sql/maintenance.h"
#include "store/process_token.h"
// Schema 3: per-builder zstd dictionaries.
#include "compact/dictionaries.h"
#include "sql/dictionary_cache.h"
#include "sql/dictionary_rows.h"

namespace buildhist {

namespace {

using internal::BuilderRange;
using internal::BuildPick;
using internal::Connection;
using internal::StoredChunk;

// Recompressed chunks hold whole stored chunks up to about this much text: large
// enough for zstd to find the repetition across a log, small enough that reading
// from a line in the middle decodes little.
constexpr std::int64_t kChunkTextBytes = 1 << 20;
constexpr int kZstdLevel = 6;
// A log stored as one text chunk smaller than this is left as it is.
constexpr std::int64_t kMinCompressBytes = 256;
constexpr int kVacuumPages = 2048;  // per transaction: 8 MiB of 4 KiB pages

// The database and its WAL, as `stats` counts them.
std::int64_t bytes_on_disk(const std::string& path) {
  return internal::file_size_or_zero(path) + internal::file_size_or_zero(path + "-wal");
}

// `builder` with its newest build among those pick_builds() may choose: deleting it
// would restart the numbering, but its log text may go, and its logs be recompressed.
BuilderRange through_newest(BuilderRange builder) {
  if (builder.newest < INT_MAX) ++builder.newest;
  return builder;
}

std::string id_array(const std::vector<BuildPick>& picks) {
  std::string ids = "[";
  for (const BuildPick& pick : picks) {
    if (ids.size() > 1) ids += ',';
    ids += std::to_string(pick.id);
  }
  return ids + "]";
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

class Compactor {
 public:
  Compactor(const std::string& path, const CompactOptions& options)
      : options_(options),
        now_(options.now != 0 ? options.now : static_cast<std::int64_t>(std::time(nullptr))),
        connection_(path, options.dry_run ? Connection::Mode::kReadOnly : Connection::Mode::kReadWrite,
                    options.busy_timeout, nullptr) {
    report_.dry_run = options.dry_run;
    // Deleting a build cascades to everything under it.
    internal::guard_sql("configure " + path, [&] { connection_.exec("PRAGMA foreign_keys = ON"); });
  }

  CompactReport run(const std::string& path) {
    // One compaction at a time: a second would count what the first deletes.
    std::optional<CompactionMark> mark;
    if (!options_.dry_run) mark.emplace(connection_);
    report_.bytes_on_disk_before = bytes_on_disk(path);
    const std::vector<BuilderRange> builders = internal::guard_sql(
        "list builders of " + path, [&] { return internal::builder_ranges(connection_); });
    if (options_.keep_builds || options_.older_than) {
      for (const BuilderRange& builder : builders) delete_builds(builder);
    }
    if (options_.logs_older_than) {
      for (const BuilderRange& builder : builders) purge_logs(builder);
    }
    if (options_.compress) {
      for (const BuilderRange& builder : builders) compress_logs(builder);
    }
    if (options_.vacuum && !options_.dry_run) vacuum();
    report_.bytes_on_disk_after = bytes_on_disk(path);
    return report_;
  }

 private:
  // Calls `batch(picks, ids)` for each batch of the builder's finished builds that
  // `pick` chooses, in number order.
  template <typename Batch>
  void for_each_batch(const BuilderRange& builder, int number_at_most,
                      std::int64_t finished_before, Batch batch) {
    int after = 0;
    for (;;) {
      const auto picks = internal::guard_sql("choose builds of " + builder.name, [&] {
        return internal::pick_builds(connection_, builder, after, number_at_most, finished_before,
                                     options_.batch_builds);
      });
      if (picks.empty()) return;
      after = picks.back().number;
      batch(picks, id_array(picks));
    }
  }

  // Runs `body` in one IMMEDIATE transaction (none in a dry run).
  template <typename Body>
  void transaction(const std::string& what, Body body) {
    internal::guard_sql(what, [&] {
      if (options_.dry_run) {
        body();
        connection_.reset_statements();
        return;
      }
      SQLite::Transaction transaction(connection_.db(), SQLite::TransactionBehavior::IMMEDIATE);
      body();
      connection_.reset_statements();
      transaction.commit();
    });
  }

  // Reports `line` unless a line went out less than a second ago (a store of a
  // million builds is ten thousand batches); `always` for a step of its own.
  void progress(const std::string& line, bool always = false) {
    if (!options_.progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!always && now - last_progress_ < std::chrono::seconds(1)) return;
    last_progress_ = now;
    options_.progress(line);
  }

  void delete_builds(const BuilderRange& builder) {
    const int number_at_most = options_.keep_builds ? builder.newest - *options_.keep_builds : 0;
    const std::int64_t finished_before = options_.older_than
                                             ? now_ - *options_.older_than
                                             : std::numeric_limits<std::int64_t>::min();
    for_each_batch(builder, number_at_most, finished_before,
                   [&](const std::vector<BuildPick>& picks, const std::string& ids) {
                     transaction("delete builds of " + builder.name, [&] {
                       const internal::Contents contents = internal::contents_of(connection_, ids);
                       if (!options_.dry_run) internal::delete_builds(connection_, ids);
                       report_.builds_deleted += static_cast<std::int64_t>(picks.size());
                       report_.steps_deleted += contents.steps;
                       report_.logs_deleted += contents.logs;
                       report_.chunks_deleted += contents.chunks;
                       report_.chunk_bytes_deleted += contents.chunk_bytes;
                     });
                     progress("compact: " + builder.name + ": " +
                              (options_.dry_run ? "would delete" : "deleted") + " builds " +
                              std::to_string(picks.front().number) + " to " +
                              std::to_string(picks.back().number));
                   });
  }

  void purge_logs(const BuilderRange& builder) {
    for_each_batch(through_newest(builder), 0, now_ - *options_.logs_older_than,
                   [&](const std::vector<BuildPick>& picks, const std::string& ids) {
                     transaction("delete log text of " + builder.name, [&] {
                       const internal::Contents contents = internal::contents_of(connection_, ids);
                       if (contents.chunks == 0 && contents.logs_with_text == 0) return;
                       if (!options_.dry_run) internal::purge_log_text(connection_, ids, now_);
                       report_.logs_purged += contents.logs_with_text;
                       report_.purged_bytes += contents.chunk_bytes;
                     });
                     progress("compact: " + builder.name + ": " +
                              (options_.dry_run ? "would delete" : "deleted") +
                              " log text up to build " + std::to_string(picks.back().number));
                   });
  }

  void compress_logs(const BuilderRange& builder) {
    choose_compressor(builder);
    for_each_batch(through_newest(builder), INT_MAX, 0, [&](const std::vector<BuildPick>& picks,
                                                            const std::string& ids) {
      transaction("recompress logs of " + builder.name, [&] {
        for (const std::int64_t log :
             internal::logs_to_compress(connection_, ids, kMinCompressBytes,
                                        compressor_->has_dictionary())) {
          compress_log(log);
        }
      });
      progress("compact: " + builder.name + ": " +
               (options_.dry_run ? "would recompress" : "recompressed") + " logs up to build " +
               std::to_string(picks.back().number));
    });
    drop_unused_dictionaries(builder);
  }

  // Schema 3: the builder's compressor, with its zstd dictionary, trained first
  // when compact/dictionaries.cc's policy says so.
  void choose_compressor(const BuilderRange& builder) {
    internal::DictionaryChoice choice = internal::choose_compressor(
        connection_, builder.id, builder.newest, kZstdLevel, options_.dictionaries,
        !options_.dry_run, now_);
    compressor_ = std::move(choice.compressor);
    if (choice.trained) {
      ++report_.dictionaries_trained;
      progress("compact: " + builder.name + ": trained a zstd dictionary", true);
    }
  }

  void drop_unused_dictionaries(const BuilderRange& builder) {
    if (options_.dry_run) return;
    report_.dictionaries_deleted += internal::delete_unused_dictionaries(connection_, builder.id);
  }

  // Rewrites one log's chunks as chunks of about kChunkTextBytes of text, each
  // compressed with zstd unless that would not make it smaller (a line or two of
  // text), when that stores the log in fewer bytes or fewer chunks.
  void compress_log(std::int64_t log_id) {
    const std::vector<StoredChunk> old_chunks = internal::read_chunks(connection_, log_id);
    std::int64_t old_bytes = 0;
    for (const StoredChunk& chunk : old_chunks) {
      old_bytes += static_cast<std::int64_t>(chunk.content.size());
    }
    if (options_.dry_run) {
      ++report_.logs_compressed;
      report_.chunks_before += static_cast<std::int64_t>(old_chunks.size());
      report_.stored_bytes_before += old_bytes;
      return;
    }
    std::vector<StoredChunk> new_chunks;
    std::string text;
    std::string scratch;
    StoredChunk pending;
    const auto flush = [&] {
      if (text.empty()) return;
      pending.raw_bytes = static_cast<std::int64_t>(text.size());
      compressor_->compress(text, pending);
      new_chunks.push_back(std::move(pending));
      pending = StoredChunk();
      text.clear();
    };
    for (const StoredChunk& chunk : old_chunks) {
      if (text.empty()) pending.first_line = chunk.first_line;
      text += internal::decode_chunk(chunk.codec, chunk.content, chunk.raw_bytes, scratch, nullptr,
                                     connection_.dictionaries().find(chunk.dictionary_id));
      pending.last_line = chunk.last_line;
      if (static_cast<std::int64_t>(text.size()) >= kChunkTextBytes) flush();
    }
    flush();
    std::int64_t new_bytes = 0;
    for (const StoredChunk& chunk : new_chunks) {
      new_bytes += static_cast<std::int64_t>(chunk.content.size());
    }
    const bool better = new_bytes < old_bytes ||
                        (new_bytes == old_bytes && new_chunks.size() < old_chunks.size());
    if (!better) return;
    internal::replace_chunks(connection_, log_id, new_chunks);
    ++report_.logs_compressed;
    report_.chunks_before += static_cast<std::int64_t>(old_chunks.size());
    report_.chunks_after += static_cast<std::int64_t>(new_chunks.size());
    report_.stored_bytes_before += old_bytes;
    report_.stored_bytes_after += new_bytes;
  }

  void vacuum() {
    internal::guard_sql("reclaim free pages", [&] {
      if (internal::auto_vacuum_mode(connection_) != 2) {
        // A store made before incremental vacuum: rewrite it once, in incremental
        // mode, holding the write lock meanwhile.
        progress("compact: rewriting the store once to enable incremental vacuum", true);
        connection_.reset_statements();
        connection_.exec("PRAGMA auto_vacuum = INCREMENTAL");
        connection_.exec("VACUUM");
      }
      const std::int64_t free = internal::free_pages(connection_);
      if (free > 0) {
        progress("compact: giving " + std::to_string(free) + " free pages back", true);
      }
      for (std::int64_t left = free; left > 0;) {
        connection_.reset_statements();
        internal::incremental_vacuum(connection_, kVacuumPages);
        const std::int64_t now_left = internal::free_pages(connection_);
        if (now_left >= left) break;  // nothing more can be given back
        left = now_left;
      }
      connection_.reset_statements();
      connection_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    });
  }

  const CompactOptions& options_;
  const std::int64_t now_;
  Connection connection_;
  CompactReport report_;
  std::chrono::steady_clock::time_point last_progress_{};
  std::unique_ptr<internal::LogCompressor> compressor_;  // the current builder's
};

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
  Compactor compactor(path, options);
  return compactor.run(path);
}

}  // namespace buildhist
