#include "sql/connection.h"

#include <sqlite3.h>

#include "sql/dictionary_cache.h"
#include "util/chunk_decoder.h"

namespace buildhist::internal {

namespace {

int open_flags(Connection::Mode mode) {
  switch (mode) {
    case Connection::Mode::kReadOnly:
      return SQLite::OPEN_READONLY;
    case Connection::Mode::kImmutable:
      return SQLite::OPEN_READONLY | SQLite::OPEN_URI;
    case Connection::Mode::kReadWrite:
      return SQLite::OPEN_READWRITE;
    case Connection::Mode::kCreate:
      return SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
  }
  return SQLite::OPEN_READONLY;
}

// A file: URI naming `path` with immutable=1, its special characters escaped.
std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (const unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7f) {
      static const char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?immutable=1";
}

SQLite::Database open_database(const std::string& path, Connection::Mode mode,
                               std::chrono::milliseconds busy_timeout) {
  return guard_sql("open " + path, [&] {
    const std::string name = mode == Connection::Mode::kImmutable ? immutable_uri(path) : path;
    return SQLite::Database(name, open_flags(mode) | SQLite::OPEN_NOMUTEX,
                            static_cast<int>(busy_timeout.count()));
  });
}

}  // namespace

Connection::Connection(const std::string& path, Mode mode,
                       std::chrono::milliseconds busy_timeout,
                       std::atomic<std::uint64_t>* statement_counter)
    : path_(path),
      db_(open_database(path, mode, busy_timeout)),
      statement_counter_(statement_counter) {}

Connection::~Connection() = default;

DictionaryCache& Connection::dictionaries() {
  if (!dictionaries_) dictionaries_ = std::make_unique<DictionaryCache>(*this);
  return *dictionaries_;
}

ChunkDecoder& Connection::chunk_decoder() {
  if (!chunk_decoder_) chunk_decoder_ = std::make_unique<ChunkDecoder>();
  return *chunk_decoder_;
}

SQLite::Statement& Connection::statement(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto prepared = guard_sql(std::string("prepare statement on ") + path_,
                              [&] { return std::make_unique<SQLite::Statement>(db_, sql); });
    it = statements_.emplace(sql, std::move(prepared)).first;
  } else {
    it->second->reset();
    it->second->clearBindings();
  }
  if (statement_counter_ != nullptr) statement_counter_->fetch_add(1, std::memory_order_relaxed);
  return *it->second;
}

void Connection::reset_statements() noexcept {
  for (auto& [sql, statement] : statements_) {
    try {
      statement->reset();
    } catch (const SQLite::Exception&) {
      // reset() reports the statement's last error again; the reset itself happened.
    }
  }
}

void Connection::exec(std::string_view sql) {
  guard_sql(std::string("execute on ") + path_, [&] { db_.exec(std::string(sql)); });
  if (statement_counter_ != nullptr) statement_counter_->fetch_add(1, std::memory_order_relaxed);
}

void configure_writer(Connection& connection, Sync sync, bool fresh) {
  guard_sql("configure " + connection.path(), [&] {
    // compact then gives freed pages back in short steps, never rewriting the
    // whole store under its lock.
    if (fresh) connection.exec("PRAGMA auto_vacuum = INCREMENTAL");
    connection.exec("PRAGMA journal_mode = WAL");
    connection.exec("PRAGMA foreign_keys = ON");
    // Checkpoints reset the WAL but do not shrink it: after one large transaction,
    // give the space back down to this size.
    connection.exec("PRAGMA journal_size_limit = 67108864");
    connection.exec(sync == Sync::kPowerLoss ? "PRAGMA synchronous = FULL"
                                             : "PRAGMA synchronous = NORMAL");
  });
}

ReadSnapshot::ReadSnapshot(Connection& connection) : connection_(connection) {
  connection_.exec("BEGIN");
}

ReadSnapshot::~ReadSnapshot() {
  // Statements still mid-result would keep the transaction open: end them first.
  connection_.reset_statements();
  try {
    connection_.exec("COMMIT");
  } catch (const Error&) {
    // A read transaction has nothing to lose; the connection's next BEGIN says so.
  }
}

Error sql_error(const SQLite::Exception& e, std::string_view what) {
  ErrorCode code = ErrorCode::kIO;
  switch (e.getErrorCode()) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = ErrorCode::kBusy;
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      code = ErrorCode::kCorrupt;
      break;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      code = ErrorCode::kInvalidArgument;
      break;
    default:
      break;
  }
  std::string message(what);
  message += ": ";
  message += code == ErrorCode::kBusy ? "the store is locked by another process ("
                                      : "";
  message += e.what();
  if (code == ErrorCode::kBusy) message += ")";
  return Error(code, message);
}

void bind_optional(SQLite::Statement& statement, int index,
                   const std::optional<std::int64_t>& value) {
  if (value) {
    statement.bind(index, static_cast<std::int64_t>(*value));
  } else {
    statement.bind(index);
  }
}

void bind_results(SQLite::Statement& statement, int index, const std::optional<Results>& results) {
  if (results) {
    statement.bind(index, static_cast<int>(*results));
  } else {
    statement.bind(index);
  }
}

std::optional<std::int64_t> column_optional(const SQLite::Statement& statement, int index) {
  if (statement.isColumnNull(index)) return std::nullopt;
  return statement.getColumn(index).getInt64();
}

}  // namespace buildhist::internal
