#include "sql/status_writer.h"

#include <SQLiteCpp/Transaction.h>

#include "sql/connection.h"
#include "sql/numbering.h"
#include "util/json_text.h"
#include "util/log_codec.h"

namespace buildhist::internal {

namespace {

// The id a written row's parent has by now: its insert comes first in queue order.
std::int64_t parent_id(const RowId* id) {
  const std::int64_t value = id->get();
  if (value == 0) throw Error(ErrorCode::kIO, "a row was written before its parent");
  return value;
}

struct Apply {
  Connection& connection;
  std::vector<RowId*>& assigned;  // ids given in this attempt, reset if it fails

  // Runs `statement`; if it inserted (the row had no id), keeps the new row's id.
  void finish(SQLite::Statement& statement, RowId* id) const {
    statement.exec();
    if (id->get() == 0) {
      id->set(connection.db().getLastInsertRowid());
      assigned.push_back(id);
    }
  }

  void operator()(const BuildRowWrite& row) const {
    auto& statement =
        row.id->get() == 0
            ? connection.statement(
                  "INSERT INTO build (worker, started_at, complete_at, state_string, results, "
                  "builder_id, number) VALUES (?, ?, ?, ?, ?, ?, ?)")
            : connection.statement(
                  "UPDATE build SET worker = ?, started_at = ?, complete_at = ?, "
                  "state_string = ?, results = ? WHERE id = ?");
    statement.bind(1, row.record.worker);
    statement.bind(2, static_cast<std::int64_t>(row.record.started_at));
    bind_optional(statement, 3, row.record.complete_at);
    statement.bind(4, row.record.state_string);
    bind_results(statement, 5, row.record.results);
    if (row.id->get() == 0) {
      statement.bind(6, static_cast<std::int64_t>(row.builder_id));
      statement.bind(7, row.record.number);
    } else {
      statement.bind(6, static_cast<std::int64_t>(row.id->get()));
    }
    finish(statement, row.id);
  }

  void operator()(const PropertyWrite& row) const {
    auto& upsert = connection.statement(
        "INSERT INTO build_property (build_id, name, value, source) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (build_id, name) DO UPDATE SET value = excluded.value, "
        "source = excluded.source");
    upsert.bind(1, static_cast<std::int64_t>(parent_id(row.build_id)));
    upsert.bind(2, row.property.name);
    upsert.bind(3, row.property.value);
    upsert.bind(4, row.property.source);
    upsert.exec();
  }

  void operator()(const StepRowWrite& row) const {
    auto& statement =
        row.id->get() == 0
            ? connection.statement(
                  "INSERT INTO step (started_at, complete_at, state_string, results, urls, "
                  "hidden, build_id, number, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            : connection.statement(
                  "UPDATE step SET started_at = ?, complete_at = ?, state_string = ?, "
                  "results = ?, urls = ?, hidden = ? WHERE id = ?");
    bind_optional(statement, 1, row.record.started_at);
    bind_optional(statement, 2, row.record.complete_at);
    statement.bind(3, row.record.state_string);
    bind_results(statement, 4, row.record.results);
    statement.bind(5, urls_to_json(row.record.urls));
    statement.bind(6, row.record.hidden ? 1 : 0);
    if (row.id->get() == 0) {
      statement.bind(7, static_cast<std::int64_t>(parent_id(row.build_id)));
      statement.bind(8, row.record.number);
      statement.bind(9, row.record.name);
    } else {
      statement.bind(7, static_cast<std::int64_t>(row.id->get()));
    }
    finish(statement, row.id);
  }

  void operator()(const LogRowWrite& row) const {
    auto& statement =
        row.id->get() == 0
            ? connection.statement(
                  "INSERT INTO log (num_lines, complete, step_id, slug, name, type) "
                  "VALUES (?, ?, ?, ?, ?, ?)")
            : connection.statement("UPDATE log SET num_lines = ?, complete = ? WHERE id = ?");
    statement.bind(1, static_cast<std::int64_t>(row.record.num_lines));
    statement.bind(2, row.record.complete ? 1 : 0);
    if (row.id->get() == 0) {
      statement.bind(3, static_cast<std::int64_t>(parent_id(row.step_id)));
      statement.bind(4, row.record.slug);
      statement.bind(5, row.record.name);
      const char type[2] = {static_cast<char>(row.record.type), '\0'};
      statement.bind(6, type);
    } else {
      statement.bind(3, static_cast<std::int64_t>(row.id->get()));
    }
    finish(statement, row.id);
  }

  void operator()(const ChunkWrite& row) const {
    auto& insert = connection.statement(
        "INSERT INTO log_chunk (log_id, first_line, last_line, codec, raw_bytes, content) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, static_cast<std::int64_t>(parent_id(row.log_id)));
    insert.bind(2, static_cast<std::int64_t>(row.first_line));
    insert.bind(3, static_cast<std::int64_t>(row.last_line));
    insert.bind(4, static_cast<int>(ChunkCodec::kText));
    insert.bind(5, static_cast<std::int64_t>(row.text.size()));
    insert.bindNoCopy(6, row.text.data(), static_cast<int>(row.text.size()));
    insert.exec();
  }

  void operator()(const NumberingRelease& row) const {
    release_numbering(connection, row.builder_id, row.holder);
  }
};

}  // namespace

std::vector<std::int64_t> commit_rows(Connection& connection,
                                      const std::vector<const RowWrite*>& rows,
                                      const std::string& holder) {
  std::vector<RowId*> assigned;
  try {
    SQLite::Transaction transaction(connection.db(), SQLite::TransactionBehavior::IMMEDIATE);
    const Apply apply{connection, assigned};
    for (const RowWrite* row : rows) std::visit(apply, *row);
    std::vector<std::int64_t> wanted;
    if (!holder.empty()) wanted = numbering_wanted(connection, holder);
    transaction.commit();
    return wanted;
  } catch (...) {
    // Rolled back: the rows these ids named do not exist; the retry inserts again.
    for (RowId* id : assigned) id->set(0);
    throw;
  }
}

}  // namespace buildhist::internal
