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

void list_grep_builds(Connection& connection, const GrepQuery& grep, bool oldest_first,
                      const std::function<bool(const GrepBuildRow&)>& sink) {
  guard_sql("list the builds to search", [&] {
    auto& query = connection.statement(
        "SELECT b.id, r.name, " BUILDHIST_BUILD_COLUMNS("b.") ", p.value "
        "FROM build b JOIN builder r ON r.id = b.builder_id "
        "LEFT JOIN build_property p ON p.build_id = b.id AND p.name = 'got_revision' "
        "WHERE (?1 IS NULL OR r.name IN (SELECT value FROM json_each(?1))) "
        "AND (?2 IS NULL OR b.started_at >= ?2) AND (?3 IS NULL OR b.started_at < ?3) "
        "AND (?4 IS NULL OR b.results = ?4) "
        "ORDER BY b.started_at * ?5 DESC, b.id * ?5 DESC");
    bind_builders(query, 1, grep);
    bind_optional(query, 2, grep.since);
    bind_optional(query, 3, grep.until);
    bind_optional(query, 4,
                  grep.results ? std::optional<std::int64_t>(static_cast<int>(*grep.results))
                               : std::nullopt);
    query.bind(5, oldest_first ? -1 : 1);
    GrepBuildRow row;
    while (query.executeStep()) {
      row.build_id = query.getColumn(0).getInt64();
      row.build.builder = query.getColumn(1).getString();
      read_build_columns(query, 2, row.build);
      row.got_revision.reset();
      if (!query.isColumnNull(8)) row.got_revision = query.getColumn(8).getString();
      if (!sink(row)) return;
    }
  });
}

void list_grep_chunks(Connection& connection, std::int64_t build_id, const GrepQuery& grep,
                      const std::function<bool(const GrepChunkRow&)>& sink) {
  guard_sql("read the log chunks of build " + std::to_string(build_id), [&] {
    auto& query = connection.statement(
        "SELECT l.id, s.number, s.name, l.slug, l.type, "
        "c.first_line, c.codec, c.raw_bytes, c.content, c.dictionary_id "
        "FROM step s JOIN log l ON l.step_id = s.id JOIN log_chunk c ON c.log_id = l.id "
        "WHERE s.build_id = ?1 AND (?2 IS NULL OR s.name = ?2) "
        "AND (?3 IS NULL OR l.slug = ?3 OR l.name = ?3) "
        "AND l.num_lines > 0 AND l.purged_at IS NULL "
        "ORDER BY s.number, l.id, c.first_line");
    query.bind(1, static_cast<std::int64_t>(build_id));
    bind_text(query, 2, grep.step);
    bind_text(query, 3, grep.log);
    GrepChunkRow row;
    while (query.executeStep()) {
      const std::int64_t log_id = query.getColumn(0).getInt64();
      if (log_id != row.log_id) {
        row.log_id = log_id;
        row.step_number = query.getColumn(1).getInt();
        row.step_name = query.getColumn(2).getString();
        row.slug = query.getColumn(3).getString();
        const auto type = query.getColumn(4);
        row.type = static_cast<LogType>(type.getBytes() == 0 ? 's' : type.getText()[0]);
      }
      row.first_line = query.getColumn(5).getInt64();
      row.codec = static_cast<ChunkCodec>(query.getColumn(6).getInt());
      row.raw_bytes = query.getColumn(7).getInt64();
      const auto content = query.getColumn(8);
      const void* blob = content.getBlob();
      row.content = std::string_view(static_cast<const char*>(blob),
                                     static_cast<std::size_t>(content.getBytes()));
      row.dictionary = connection.dictionaries().share(column_optional(query, 9));
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
