// The SQL an import writes a store with (buildhist import, import-buildbot).
//
// Unlike the master's writer it inserts rows without ids, letting SQLite assign
// them, so that an import can run beside another process writing the same store.
// Each build is written inside one transaction (begin() ... commit()), so that no
// reader and no crash ever sees part of one. Used by one thread at a time; every
// failure is a buildhist::Error naming the operation.
#ifndef BUILDHIST_SQL_TRANSFER_WRITER_H_
#define BUILDHIST_SQL_TRANSFER_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/records.h"
#include "sql/connection.h"
#include "sql/numbering.h"

namespace buildhist::internal {

class TransferWriter {
 public:
  // Opens the store at `path` (which must exist and be current) for writing.
  TransferWriter(const std::string& path, std::chrono::milliseconds busy_timeout);

  // Takes the write lock (BEGIN IMMEDIATE): what is read from here on stays true
  // until commit() or rollback().
  void begin();
  void commit();
  // Never throws; a no-op outside a transaction.
  void rollback() noexcept;

  std::optional<std::int64_t> find_builder(std::string_view name);
  // The builder's id, creating the builder if it is new.
  std::int64_t builder_id(std::string_view name);

  // Inside a transaction, before the builder's first build is inserted in it: see
  // share_numbering() in sql/numbering.h. The holder that must hand over first, if any.
  std::optional<std::string> share_numbering(std::int64_t builder_id, const HolderIsGone& gone,
                                             std::int64_t now);
  // Who numbers the builder now ('' shared, nullopt nobody). Outside a transaction.
  std::optional<std::string> numbering_holder(std::int64_t builder_id);

  std::optional<int> newest_number(std::int64_t builder_id);
  // Numbers of the builder's builds that are running or have a log not complete,
  // ascending.
  std::vector<int> unfinished_numbers(std::int64_t builder_id);
  std::optional<std::int64_t> build_id(std::int64_t builder_id, int number);

  // Deletes the build and everything under it.
  void delete_build(std::int64_t build_id);

  std::int64_t insert_build(std::int64_t builder_id, const BuildRecord& build);
  void insert_property(std::int64_t build_id, const Property& property);
  std::int64_t insert_step(std::int64_t build_id, const StepRecord& step);
  // Inserted with 0 lines, not complete: finish_log() sets both once its chunks are in.
  std::int64_t insert_log(std::int64_t step_id, const LogRecord& log);
  // `text`: whole lines first_line..last_line, each ended by '\n', stored as text.
  void insert_chunk(std::int64_t log_id, std::int64_t first_line, std::int64_t last_line,
                    std::string_view text);
  void finish_log(std::int64_t log_id, std::int64_t num_lines, bool complete);

 private:
  Connection connection_;
  bool in_transaction_ = false;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_TRANSFER_WRITER_H_
