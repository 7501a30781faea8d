#include "sql/dictionary_rows.h"

#include <SQLiteCpp/Transaction.h>

#include "sql/connection.h"

namespace buildhist::internal {

std::optional<DictionaryRow> newest_dictionary(Connection& connection, std::int64_t builder_id) {
  return guard_sql("read the zstd dictionary of builder " + std::to_string(builder_id),
                   [&]() -> std::optional<DictionaryRow> {
    auto& query = connection.statement(
        "SELECT id, trained_at, trained_through, bytes FROM zstd_dictionary "
        "WHERE builder_id = ? ORDER BY id DESC LIMIT 1");
    query.bind(1, static_cast<std::int64_t>(builder_id));
    if (!query.executeStep()) return std::nullopt;
    const auto bytes = query.getColumn(3);
    DictionaryRow row{query.getColumn(0).getInt64(), query.getColumn(1).getInt64(),
                      query.getColumn(2).getInt(),
                      std::string(static_cast<const char*>(bytes.getBlob()),
                                  static_cast<std::size_t>(bytes.getBytes()))};
    query.reset();
    return row;
  });
}

std::int64_t insert_dictionary(Connection& connection, std::int64_t builder_id,
                               std::int64_t trained_at, int trained_through,
                               std::string_view bytes) {
  return guard_sql("store a zstd dictionary of builder " + std::to_string(builder_id), [&] {
    SQLite::Transaction transaction(connection.db(), SQLite::TransactionBehavior::IMMEDIATE);
    auto& insert = connection.statement(
        "INSERT INTO zstd_dictionary (builder_id, trained_at, trained_through, bytes) "
        "VALUES (?, ?, ?, ?)");
    insert.bind(1, static_cast<std::int64_t>(builder_id));
    insert.bind(2, static_cast<std::int64_t>(trained_at));
    insert.bind(3, trained_through);
    insert.bindNoCopy(4, bytes.data(), static_cast<int>(bytes.size()));
    insert.exec();
    const std::int64_t id = connection.db().getLastInsertRowid();
    transaction.commit();
    return id;
  });
}

std::int64_t delete_unused_dictionaries(Connection& connection, std::int64_t builder_id) {
  return guard_sql("delete unused zstd dictionaries of builder " + std::to_string(builder_id),
                   [&] {
    auto& remove = connection.statement(
        "DELETE FROM zstd_dictionary WHERE builder_id = ?1 "
        "AND id < (SELECT max(id) FROM zstd_dictionary WHERE builder_id = ?1) "
        "AND NOT EXISTS (SELECT 1 FROM log_chunk c WHERE c.dictionary_id = zstd_dictionary.id)");
    remove.bind(1, static_cast<std::int64_t>(builder_id));
    return static_cast<std::int64_t>(remove.exec());
  });
}

std::vector<std::int64_t> sample_logs(Connection& connection, std::int64_t builder_id, int from,
                                      int through, int stride, int limit) {
  return guard_sql("choose logs of builder " + std::to_string(builder_id) + " to train on", [&] {
    // A range of the (builder_id, number) index, newest first.
    auto& query = connection.statement(
        "SELECT l.id FROM build b JOIN step s ON s.build_id = b.id JOIN log l ON l.step_id = s.id "
        "WHERE b.builder_id = ?1 AND b.number BETWEEN ?2 AND ?3 AND (?3 - b.number) % ?4 = 0 "
        "AND b.complete_at IS NOT NULL AND l.complete = 1 AND l.num_lines > 0 "
        "AND l.purged_at IS NULL ORDER BY b.number DESC, s.number, l.id LIMIT ?5");
    query.bind(1, static_cast<std::int64_t>(builder_id));
    query.bind(2, from);
    query.bind(3, through);
    query.bind(4, stride);
    query.bind(5, limit);
    std::vector<std::int64_t> logs;
    while (query.executeStep()) logs.push_back(query.getColumn(0).getInt64());
    return logs;
  });
}

}  // namespace buildhist::internal
