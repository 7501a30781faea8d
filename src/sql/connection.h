// One SQLite connection with its prepared statements.
//
// Every SQL statement the library runs goes through a Connection: statements are
// prepared once per connection and reused, and every execution is counted (the
// statement counter in CacheStats proves "no N+1"). A Connection is used by one
// thread at a time.
#ifndef BUILDHIST_SQL_CONNECTION_H_
#define BUILDHIST_SQL_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "buildhist/error.h"
#include "buildhist/options.h"
#include "buildhist/results.h"

namespace buildhist::internal {

class ChunkDecoder;
class DictionaryCache;

class Connection {
 public:
  // kImmutable reads a store that nothing can be writing (on read-only media,
  // without a -wal file): SQLite then needs no -shm file and takes no locks.
  enum class Mode { kReadOnly, kImmutable, kReadWrite, kCreate };

  // Opens `path`. The statement counter, if given, must outlive the connection.
  Connection(const std::string& path, Mode mode, std::chrono::milliseconds busy_timeout,
             std::atomic<std::uint64_t>* statement_counter);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The statement for `sql`, prepared on first use, reset and with cleared bindings,
  // counted as one execution. `sql` is the key: pass a string literal.
  SQLite::Statement& statement(const char* sql);

  // Resets every statement, ending the read transaction any unfinished one holds
  // (an idle connection must neither pin an old snapshot nor block checkpoints).
  void reset_statements() noexcept;

  // Runs SQL that returns no rows (pragmas, BEGIN, COMMIT, DDL), counted.
  void exec(std::string_view sql);

  SQLite::Database& db() noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

  // The zstd dictionaries this connection has read (sql/dictionary_cache.h).
  DictionaryCache& dictionaries();
  // A decoder kept for this connection's log reads: making a zstd context costs
  // more than decoding a small log. Its text is valid until its next decode.
  ChunkDecoder& chunk_decoder();

 private:
  std::string path_;
  SQLite::Database db_;
  std::atomic<std::uint64_t>* statement_counter_;
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> statements_;
  std::unique_ptr<DictionaryCache> dictionaries_;  // made on first use
  std::unique_ptr<ChunkDecoder> chunk_decoder_;    // made on first use
};

// The PRAGMAs of a connection that writes: WAL, foreign keys, the WAL's size limit
// and the sync level. On a new file (`fresh`) also incremental auto-vacuum, which
// must be set before the first page is written.
void configure_writer(Connection& connection, Sync sync, bool fresh);

// One read snapshot across several statements: a deferred transaction that reads
// only, begun here and ended when it goes out of scope. REQUIRES: no transaction
// open on the connection.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Connection& connection);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Connection& connection_;
};

// The buildhist::Error for a failed SQLite call: `what` names the operation and key.
Error sql_error(const SQLite::Exception& e, std::string_view what);

// Runs `body`, turning any SQLite::Exception into the Error for `what`.
template <typename Body>
auto guard_sql(std::string_view what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    throw sql_error(e, what);
  }
}

// Binds an optional integer: NULL when empty.
void bind_optional(SQLite::Statement& statement, int index,
                   const std::optional<std::int64_t>& value);
// Binds a build's or step's results: NULL while running.
void bind_results(SQLite::Statement& statement, int index, const std::optional<Results>& results);
std::optional<std::int64_t> column_optional(const SQLite::Statement& statement, int index);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_CONNECTION_H_
