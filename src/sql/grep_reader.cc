#include "sql/grep_reader.h"

#include "sql/connection.h"
#include "sql/dictionary_cache.h"
#include "sql/status_reader.h"
#include "util/json_text.h"

namespace buildhist::internal {

namespace {

// The builder names as a JSON array, for json_each: one prepared statement for any
// number of names. NULL (every builder) when there are none.
void bind_builders(SQLite::Statement& query, int index, const GrepQuery& grep) {
  if (grep.builders.empty()) {
    query.bind(index);
    return;
  }
  std::string array = "[";
  for (const auto& name : grep.builders) {
    if (array.size() > 1) array += ",";
    array += json_quote(name);
  }
  query.bind(index, array + "]");
}

void bind_text(SQLite::Statement& query, int index, const std::optional<std::string>& text) {
  if (text) {
    query.bind(index, *text);
  } else {
    query.bind(index);
  }
}

}  // namespace

void list_grep_logs(Connection& connection, const GrepQuery& grep, bool oldest_first,
                    const std::function<bool(const GrepLogRow&)>& sink) {
  guard_sql("list the logs to search", [&] {
    auto& query = connection.statement(
        "SELECT l.id, r.name, " BUILDHIST_BUILD_COLUMNS("b.") ", p.value, s.number, s.name, "
        "l.slug, l.type FROM build b JOIN builder r ON r.id = b.builder_id "
        "JOIN step s ON s.build_id = b.id JOIN log l ON l.step_id = s.id "
        "LEFT JOIN build_property p ON p.build_id = b.id AND p.name = 'got_revision' "
        "WHERE (?1 IS NULL OR r.name IN (SELECT value FROM json_each(?1))) "
        "AND (?2 IS NULL OR b.started_at >= ?2) AND (?3 IS NULL OR b.started_at < ?3) "
        "AND (?4 IS NULL OR b.results = ?4) AND (?5 IS NULL OR s.name = ?5) "
        "AND (?6 IS NULL OR l.slug = ?6 OR l.name = ?6) AND l.num_lines > 0 AND l.purged_at IS NULL "
        "ORDER BY b.started_at * ?7 DESC, b.id * ?7 DESC, s.number, l.id");
    bind_builders(query, 1, grep);
    bind_optional(query, 2, grep.since);
    bind_optional(query, 3, grep.until);
    bind_optional(query, 4,
                  grep.results ? std::optional<std::int64_t>(static_cast<int>(*grep.results))
                               : std::nullopt);
    bind_text(query, 5, grep.step);
    bind_text(query, 6, grep.log);
    query.bind(7, oldest_first ? -1 : 1);
    GrepLogRow row;
    while (query.executeStep()) {
      row.log_id = query.getColumn(0).getInt64();
      row.log.build.builder = query.getColumn(1).getString();
      read_build_columns(query, 2, row.log.build);
      row.log.got_revision.reset();
      if (!query.isColumnNull(8)) row.log.got_revision = query.getColumn(8).getString();
      row.log.step_number = query.getColumn(9).getInt();
      row.log.step_name = query.getColumn(10).getString();
      row.log.slug = query.getColumn(11).getString();
      const std::string type = query.getColumn(12).getString();
      row.log.type = static_cast<LogType>(type.empty() ? 's' : type[0]);
      if (!sink(row)) return;
    }
  });
}

void list_log_chunks(Connection& connection, std::int64_t log_id,
                     const std::function<bool(const ChunkRow&)>& sink) {
  guard_sql("read the chunks of log " + std::to_string(log_id), [&] {
    auto& query = connection.statement(
        "SELECT first_line, codec, raw_bytes, content, dictionary_id FROM log_chunk "
        "WHERE log_id = ?1 "
        "ORDER BY first_line");
    query.bind(1, static_cast<std::int64_t>(log_id));
    while (query.executeStep()) {
      const auto content = query.getColumn(3);
      const ChunkRow row{query.getColumn(0).getInt64(),
                         static_cast<ChunkCodec>(query.getColumn(1).getInt()),
                         query.getColumn(2).getInt64(),
                         std::string_view(static_cast<const char*>(content.getBlob()),
                                          static_cast<std::size_t>(content.getBytes())),
                         connection.dictionaries().find(column_optional(query, 4))};
      if (!sink(row)) return;
    }
  });
}

std::int64_t count_grep_builders(Connection& connection, const GrepQuery& grep) {
  return guard_sql("count the builders to search", [&] {
    auto& query = connection.statement(
        "SELECT count(*) FROM builder WHERE ?1 IS NULL OR name IN "
        "(SELECT value FROM json_each(?1))");
    bind_builders(query, 1, grep);
    query.executeStep();
    return query.getColumn(0).getInt64();
  });
}

}  // namespace buildhist::internal
