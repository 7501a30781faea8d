#include "sql/maintenance.h"

#include <sqlite3.h>

#include <algorithm>

#include <SQLiteCpp/Transaction.h>

#include "sql/connection.h"

namespace buildhist::internal {

// The builds of a batch are bound as one JSON array, as pages bind theirs.
#define BUILDHIST_BATCH "(SELECT value FROM json_each(?1))"

std::vector<BuilderRange> builder_ranges(Connection& connection) {
  auto& query = connection.statement(
      "SELECT builder.id, builder.name, max(build.number) FROM builder "
      "JOIN build ON build.builder_id = builder.id GROUP BY builder.id ORDER BY builder.name");
  std::vector<BuilderRange> builders;
  while (query.executeStep()) {
    builders.push_back(BuilderRange{query.getColumn(0).getInt64(), query.getColumn(1).getString(),
                                    query.getColumn(2).getInt()});
  }
  return builders;
}

std::vector<BuildPick> pick_builds(Connection& connection, const BuilderRange& builder, int after,
                                   int number_at_most, std::int64_t finished_before, int limit) {
  // A range of the (builder_id, number) index; each candidate's row is read for
  // complete_at only.
  auto& query = connection.statement(
      "SELECT id, number FROM build WHERE builder_id = ?1 AND number > ?2 AND number < ?3 "
      "AND complete_at IS NOT NULL AND (number <= ?4 OR complete_at < ?5) "
      "ORDER BY number LIMIT ?6");
  query.bind(1, static_cast<std::int64_t>(builder.id));
  query.bind(2, after);
  query.bind(3, builder.newest);
  query.bind(4, number_at_most);
  query.bind(5, static_cast<std::int64_t>(finished_before));
  query.bind(6, limit);
  std::vector<BuildPick> picks;
  while (query.executeStep()) {
    picks.push_back(BuildPick{query.getColumn(0).getInt64(), query.getColumn(1).getInt()});
  }
  return picks;
}

Contents contents_of(Connection& connection, const std::string& build_ids) {
  auto& query = connection.statement(
      "SELECT (SELECT count(*) FROM step WHERE build_id IN " BUILDHIST_BATCH "), "
      "count(DISTINCT l.id), "
      "count(DISTINCT CASE WHEN l.num_lines > 0 AND l.purged_at IS NULL THEN l.id END), "
      "count(c.id), ifnull(sum(length(c.content)), 0) "
      "FROM step s JOIN log l ON l.step_id = s.id LEFT JOIN log_chunk c ON c.log_id = l.id "
      "WHERE s.build_id IN " BUILDHIST_BATCH);
  query.bind(1, build_ids);
  query.executeStep();
  Contents contents;
  contents.steps = query.getColumn(0).getInt64();
  contents.logs = query.getColumn(1).getInt64();
  contents.logs_with_text = query.getColumn(2).getInt64();
  contents.chunks = query.getColumn(3).getInt64();
  contents.chunk_bytes = query.getColumn(4).getInt64();
  return contents;
}

void delete_builds(Connection& connection, const std::string& build_ids) {
  // Properties, steps, logs and chunks go by ON DELETE CASCADE.
  auto& statement = connection.statement("DELETE FROM build WHERE id IN " BUILDHIST_BATCH);
  statement.bind(1, build_ids);
  statement.exec();
}

void purge_log_text(Connection& connection, const std::string& build_ids, std::int64_t now) {
  // Marked first: a log is purged when it had chunks.
  auto& logs = connection.statement(
      "UPDATE log SET purged_at = ?2 WHERE purged_at IS NULL AND step_id IN "
      "(SELECT id FROM step WHERE build_id IN " BUILDHIST_BATCH ") "
      "AND EXISTS (SELECT 1 FROM log_chunk c WHERE c.log_id = log.id)");
  logs.bind(1, build_ids);
  logs.bind(2, static_cast<std::int64_t>(now));
  logs.exec();
  auto& chunks = connection.statement(
      "DELETE FROM log_chunk WHERE log_id IN (SELECT l.id FROM step s JOIN log l "
      "ON l.step_id = s.id WHERE s.build_id IN " BUILDHIST_BATCH ")");
  chunks.bind(1, build_ids);
  chunks.exec();
}

std::vector<std::int64_t> logs_to_compress(Connection& connection, const std::string& build_ids,
                                           std::int64_t min_text_bytes, bool with_dictionary) {
  // A chunk is settled when it is zstd with a dictionary, or plain zstd while the
  // builder has none (?3 = 0); a lone first chunk of short text is left as well.
  auto& query = connection.statement(
      "SELECT l.id FROM step s JOIN log l ON l.step_id = s.id "
      "WHERE s.build_id IN " BUILDHIST_BATCH " AND l.complete = 1 "
      "AND EXISTS (SELECT 1 FROM log_chunk c WHERE c.log_id = l.id "
      "AND NOT (c.codec = 2 OR (c.codec = 1 AND ?3 = 0)) "
      "AND (c.first_line > 0 OR c.codec <> 0 OR c.raw_bytes >= ?2 "
      "OR EXISTS (SELECT 1 FROM log_chunk n WHERE n.log_id = l.id AND n.first_line > 0))) "
      "ORDER BY l.id");
  query.bind(1, build_ids);
  query.bind(2, static_cast<std::int64_t>(min_text_bytes));
  query.bind(3, with_dictionary ? 1 : 0);
  std::vector<std::int64_t> logs;
  while (query.executeStep()) logs.push_back(query.getColumn(0).getInt64());
  return logs;
}

std::vector<StoredChunk> read_chunks(Connection& connection, std::int64_t log_id) {
  auto& query = connection.statement(
      "SELECT first_line, last_line, codec, raw_bytes, content, dictionary_id FROM log_chunk "
      "WHERE log_id = ?1 ORDER BY first_line");
  query.bind(1, static_cast<std::int64_t>(log_id));
  std::vector<StoredChunk> chunks;
  while (query.executeStep()) {
    const auto content = query.getColumn(4);
    chunks.push_back(StoredChunk{query.getColumn(0).getInt64(), query.getColumn(1).getInt64(),
                                 static_cast<ChunkCodec>(query.getColumn(2).getInt()),
                                 query.getColumn(3).getInt64(),
                                 std::string(static_cast<const char*>(content.getBlob()),
                                             static_cast<std::size_t>(content.getBytes())),
                                 column_optional(query, 5)});
  }
  return chunks;
}

ChunkSignature signature_of(const std::vector<StoredChunk>& chunks) {
  ChunkSignature signature;
  for (const StoredChunk& chunk : chunks) {
    ++signature.chunks;
    signature.last_line = std::max(signature.last_line, chunk.last_line);
    signature.stored_bytes += static_cast<std::int64_t>(chunk.content.size());
  }
  return signature;
}

ChunkSignature chunk_signature(Connection& connection, std::int64_t log_id) {
  auto& query = connection.statement(
      "SELECT count(*), ifnull(max(last_line), -1), ifnull(sum(length(content)), 0) "
      "FROM log_chunk WHERE log_id = ?1");
  query.bind(1, static_cast<std::int64_t>(log_id));
  query.executeStep();
  return ChunkSignature{query.getColumn(0).getInt64(), query.getColumn(1).getInt64(),
                        query.getColumn(2).getInt64()};
}

void replace_chunks(Connection& connection, std::int64_t log_id,
                    const std::vector<StoredChunk>& chunks) {
  auto& remove = connection.statement("DELETE FROM log_chunk WHERE log_id = ?1");
  remove.bind(1, static_cast<std::int64_t>(log_id));
  remove.exec();
  for (const StoredChunk& chunk : chunks) {
    auto& insert = connection.statement(
        "INSERT INTO log_chunk (log_id, first_line, last_line, codec, raw_bytes, content, "
        "dictionary_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    insert.bind(1, static_cast<std::int64_t>(log_id));
    insert.bind(2, static_cast<std::int64_t>(chunk.first_line));
    insert.bind(3, static_cast<std::int64_t>(chunk.last_line));
    insert.bind(4, static_cast<int>(chunk.codec));
    insert.bind(5, static_cast<std::int64_t>(chunk.raw_bytes));
    insert.bindNoCopy(6, chunk.content.data(), static_cast<int>(chunk.content.size()));
    bind_optional(insert, 7, chunk.dictionary_id);
    insert.exec();
  }
}

int auto_vacuum_mode(Connection& connection) {
  auto& query = connection.statement("PRAGMA auto_vacuum");
  query.executeStep();
  return query.getColumn(0).getInt();
}

std::int64_t free_pages(Connection& connection) {
  auto& query = connection.statement("PRAGMA freelist_count");
  query.executeStep();
  return query.getColumn(0).getInt64();
}

void incremental_vacuum(Connection& connection, int pages) {
  connection.exec("PRAGMA incremental_vacuum(" + std::to_string(pages) + ")");
}

void enable_incremental_vacuum(Connection& connection) {
  connection.reset_statements();
  connection.exec("PRAGMA auto_vacuum = INCREMENTAL");
  connection.exec("VACUUM");
}

bool in_transaction(Connection& connection) {
  return sqlite3_get_autocommit(connection.db().getHandle()) == 0;
}

void in_write_transaction(Connection& connection, const std::function<void()>& body) {
  SQLite::Transaction transaction(connection.db(), SQLite::TransactionBehavior::IMMEDIATE);
  body();
  connection.reset_statements();
  transaction.commit();
}

void count_wal_frames(Connection& connection, int* frames) {
  // The hook takes the place of SQLite's autocheckpoint, which is a WAL hook too.
  const auto store = [](void* into, sqlite3*, const char*, int now) {
    *static_cast<int*>(into) = now;
    return SQLITE_OK;
  };
  if (frames == nullptr) {
    sqlite3_wal_hook(connection.db().getHandle(), nullptr, nullptr);
  } else {
    sqlite3_wal_hook(connection.db().getHandle(), store, frames);
  }
}

void checkpoint_passive(Connection& connection) {
  connection.reset_statements();
  connection.exec("PRAGMA wal_checkpoint(PASSIVE)");
}

bool checkpoint(Connection& connection, std::chrono::milliseconds busy_timeout) {
  checkpoint_passive(connection);
  // With no busy handler, TRUNCATE returns SQLITE_BUSY (or a row saying so) at
  // once instead of holding the write lock while it waits for readers.
  struct NoBusyWait {
    Connection& connection;
    int restore;
    ~NoBusyWait() { sqlite3_busy_timeout(connection.db().getHandle(), restore); }
  } no_wait{connection, static_cast<int>(busy_timeout.count())};
  sqlite3_busy_timeout(connection.db().getHandle(), 0);
  try {
    auto& query = connection.statement("PRAGMA wal_checkpoint(TRUNCATE)");
    const bool truncated = query.executeStep() && query.getColumn(0).getInt() == 0;
    query.reset();
    return truncated;
  } catch (const SQLite::Exception& e) {
    if (e.getErrorCode() == SQLITE_BUSY || e.getErrorCode() == SQLITE_LOCKED) return false;
    throw;
  }
}

std::optional<std::string> begin_compaction(
    Connection& connection, const std::string& holder,
    const std::function<bool(const std::string&)>& gone) {
  return guard_sql("begin compacting " + connection.path(), [&]() -> std::optional<std::string> {
    SQLite::Transaction transaction(connection.db(), SQLite::TransactionBehavior::IMMEDIATE);
    auto& query = connection.statement("SELECT value FROM meta WHERE key = 'compaction'");
    if (query.executeStep()) {
      const std::string running = query.getColumn(0).getString();
      query.reset();
      if (!gone(running)) return running;
    }
    auto& mark = connection.statement(
        "INSERT INTO meta (key, value) VALUES ('compaction', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    mark.bind(1, holder);
    mark.exec();
    transaction.commit();
    return std::nullopt;
  });
}

void end_compaction(Connection& connection, const std::string& holder) {
  guard_sql("end compacting " + connection.path(), [&] {
    auto& unmark = connection.statement("DELETE FROM meta WHERE key = 'compaction' AND value = ?");
    unmark.bind(1, holder);
    unmark.exec();
  });
}

}  // namespace buildhist::internal
