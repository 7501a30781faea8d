#include "sql/history_reader.h"

#include <limits>

#include "buildhist/error.h"
#include "buildhist/reference.h"
#include "sql/connection.h"
#include "sql/status_reader.h"

namespace buildhist::internal {

namespace {

// Binds a nullable integer parameter.
template <typename Int>
void bind_nullable(SQLite::Statement& statement, int index, const std::optional<Int>& value) {
  bind_optional(statement, index,
                value ? std::optional<std::int64_t>(static_cast<std::int64_t>(*value))
                      : std::nullopt);
}

// Each invariant check lists at most this many problems of its kind, then says
// how many more there are, so that a badly damaged store still gives a short report.
constexpr int kProblemsPerCheck = 20;

// "builder/number/step/slug" for a problem found on a log, chunk, step or build row:
// the query selects the builder name, build number, step number and slug (the last
// two may be NULL) from column `first`.
std::string problem_where(const SQLite::Statement& row, int first) {
  Reference reference;
  reference.builder = row.getColumn(first).getString();
  reference.number = row.getColumn(first + 1).getInt();
  if (!row.isColumnNull(first + 2)) {
    reference.step = StepSelector{row.getColumn(first + 2).getInt(), {}};
    if (!row.isColumnNull(first + 3)) reference.log = row.getColumn(first + 3).getString();
  }
  return format_reference(reference);
}

// Runs an invariant query whose rows are problems, the last column counting every
// problem row (count(*) OVER ()): reports up to kProblemsPerCheck and a summary.
std::size_t report_rows(SQLite::Statement& query, std::string_view table,
                        const std::function<Problem(const SQLite::Statement&)>& describe,
                        const std::function<void(const Problem&)>& sink) {
  std::size_t found = 0;
  std::int64_t total = 0;
  while (query.executeStep()) {
    total = query.getColumn(query.getColumnCount() - 1).getInt64();
    if (found < kProblemsPerCheck) sink(describe(query));
    ++found;
    if (found == kProblemsPerCheck && total > kProblemsPerCheck) {
      sink(Problem{std::string(table),
                   std::to_string(total - kProblemsPerCheck) + " more problems of this kind"});
      break;
    }
  }
  return static_cast<std::size_t>(total);
}

// The joins from a log to its builder, and the columns problem_where reads.
#define BUILDHIST_LOG_PLACE                                                    \
  " JOIN step s ON s.id = l.step_id JOIN build b ON b.id = s.build_id"         \
  " JOIN builder r ON r.id = b.builder_id"
#define BUILDHIST_LOG_PLACE_COLUMNS "r.name, b.number, s.number, l.slug"

}  // namespace

void list_builders(Connection& connection,
                   const std::function<bool(const BuilderSummary&)>& sink) {
  guard_sql("list builders", [&] {
    // The newest build is one probe of the (builder_id, number) index; the count is
    // the builder's own, kept by triggers.
    auto& query = connection.statement(
        "SELECT r.name, r.build_count, "
        "n.number, n.results, n.complete_at FROM builder r "
        "LEFT JOIN build n ON n.id = (SELECT id FROM build WHERE builder_id = r.id "
        "ORDER BY number DESC LIMIT 1) ORDER BY r.name");
    while (query.executeStep()) {
      BuilderSummary summary;
      summary.name = query.getColumn(0).getString();
      summary.builds = query.getColumn(1).getInt64();
      if (!query.isColumnNull(2)) summary.newest = query.getColumn(2).getInt();
      summary.newest_results = column_results(query, 3);
      summary.newest_complete_at = column_optional(query, 4);
      if (!sink(summary)) return;
    }
  });
}

void list_builds(Connection& connection, std::int64_t builder_id, std::string_view builder,
                 const BuildFilter& filter, const std::function<bool(const BuildRecord&)>& sink) {
  guard_sql("list builds of " + std::string(builder), [&] {
    // Keyset on the (builder_id, number) index, walked backwards; the filters are
    // checked on the rows the walk meets, and LIMIT stops it.
    auto& query = connection.statement(
        "SELECT " BUILDHIST_BUILD_COLUMNS("") " FROM build "
        "WHERE builder_id = ?1 AND number < ?2 AND (?3 IS NULL OR results = ?3) "
        "AND (?4 IS NULL OR started_at >= ?4) AND (?5 IS NULL OR started_at < ?5) "
        "ORDER BY number DESC LIMIT ?6");
    query.bind(1, static_cast<std::int64_t>(builder_id));
    query.bind(2, filter.before.value_or(std::numeric_limits<int>::max()));
    bind_nullable(query, 3,
                  filter.results ? std::optional<int>(static_cast<int>(*filter.results))
                                 : std::nullopt);
    bind_nullable(query, 4, filter.since);
    bind_nullable(query, 5, filter.until);
    query.bind(6, filter.limit > 0 ? filter.limit : -1);
    BuildRecord record;
    record.builder = std::string(builder);
    while (query.executeStep()) {
      read_build_columns(query, 0, record);
      if (!sink(record)) return;
    }
  });
}

void list_builds_by_property(Connection& connection, std::string_view name,
                             std::string_view json_value, std::string_view string_value,
                             std::optional<std::int64_t> builder_id,
                             const std::function<bool(const BuildRecord&)>& sink) {
  guard_sql("find builds with property " + std::string(name), [&] {
    // One probe per candidate value of the (name, value) index.
    auto& query = connection.statement(
        "SELECT r.name, " BUILDHIST_BUILD_COLUMNS("b.") " FROM build_property p "
        "JOIN build b ON b.id = p.build_id JOIN builder r ON r.id = b.builder_id "
        "WHERE p.name = ?1 AND p.value IN (?2, ?3) AND (?4 IS NULL OR b.builder_id = ?4) "
        "ORDER BY b.started_at DESC, b.id DESC");
    query.bind(1, std::string(name));
    query.bind(2, std::string(json_value));
    query.bind(3, std::string(string_value));
    bind_nullable(query, 4, builder_id);
    BuildRecord record;
    while (query.executeStep()) {
      record.builder = query.getColumn(0).getString();
      read_build_columns(query, 1, record);
      if (!sink(record)) return;
    }
  });
}

namespace {

// Binds a step selector to ?3 (number) and ?4 (name): exactly one is non-NULL.
void bind_step(SQLite::Statement& query, const StepSelector& step) {
  bind_nullable(query, 3, step.number);
  if (step.number) {
    query.bind(4);
  } else {
    query.bind(4, step.name);
  }
}

}  // namespace

std::optional<LogRow> find_log_row(Connection& connection, std::int64_t builder_id,
                                   int build_number, const StepSelector& step,
                                   std::string_view slug) {
  return guard_sql("find log " + std::string(slug), [&]() -> std::optional<LogRow> {
    auto& query = connection.statement(
        "SELECT l.id, s.number, s.name, l.slug, l.name, l.type, l.num_lines, l.complete, "
        "l.purged_at FROM build b JOIN step s ON s.build_id = b.id JOIN log l ON l.step_id = s.id "
        "WHERE b.builder_id = ?1 AND b.number = ?2 AND (s.number = ?3 OR s.name = ?4) "
        "AND l.slug = ?5");
    query.bind(1, static_cast<std::int64_t>(builder_id));
    query.bind(2, build_number);
    bind_step(query, step);
    query.bind(5, std::string(slug));
    if (!query.executeStep()) return std::nullopt;
    LogRow row;
    row.id = query.getColumn(0).getInt64();
    row.step_number = query.getColumn(1).getInt();
    row.step_name = query.getColumn(2).getString();
    row.record.slug = query.getColumn(3).getString();
    row.record.name = query.getColumn(4).getString();
    const std::string type = query.getColumn(5).getString();
    row.record.type = static_cast<LogType>(type.empty() ? 's' : type[0]);
    row.record.num_lines = query.getColumn(6).getInt64();
    row.record.complete = query.getColumn(7).getInt() != 0;
    row.record.purged_at = column_optional(query, 8);
    return row;
  });
}

bool step_exists(Connection& connection, std::int64_t builder_id, int build_number,
                 const StepSelector& step) {
  return guard_sql("find a step", [&] {
    auto& query = connection.statement(
        "SELECT 1 FROM build b JOIN step s ON s.build_id = b.id "
        "WHERE b.builder_id = ?1 AND b.number = ?2 AND (s.number = ?3 OR s.name = ?4)");
    query.bind(1, static_cast<std::int64_t>(builder_id));
    query.bind(2, build_number);
    bind_step(query, step);
    return query.executeStep();
  });
}

std::optional<LogState> read_log_state(Connection& connection, std::int64_t log_id) {
  return guard_sql("read the state of log " + std::to_string(log_id),
                   [&]() -> std::optional<LogState> {
    auto& query = connection.statement(
        "SELECT l.num_lines, l.complete, b.complete_at IS NOT NULL FROM log l "
        "JOIN step s ON s.id = l.step_id JOIN build b ON b.id = s.build_id WHERE l.id = ?");
    query.bind(1, static_cast<std::int64_t>(log_id));
    if (!query.executeStep()) return std::nullopt;
    return LogState{query.getColumn(0).getInt64(), query.getColumn(1).getInt() != 0,
                    query.getColumn(2).getInt() != 0};
  });
}

std::int64_t data_version(Connection& connection) {
  return guard_sql("read the data version", [&] {
    auto& query = connection.statement("PRAGMA data_version");
    query.executeStep();
    return query.getColumn(0).getInt64();
  });
}

StoreStats read_store_counts(Connection& connection) {
  return guard_sql("count the store's rows", [&] {
    auto& query = connection.statement(
        "SELECT (SELECT count(*) FROM builder), (SELECT count(*) FROM build), "
        "(SELECT count(*) FROM build_property), (SELECT count(*) FROM step), "
        "(SELECT count(*) FROM log), (SELECT count(*) FROM log_chunk), "
        "(SELECT count(*) FROM zstd_dictionary), "
        "(SELECT ifnull(sum(raw_bytes), 0) FROM log_chunk), "
        "(SELECT ifnull(sum(length(content)), 0) FROM log_chunk), "
        "(SELECT count(*) FROM log WHERE purged_at IS NOT NULL), "
        "(SELECT ifnull(sum(length(bytes)), 0) FROM zstd_dictionary)");
    query.executeStep();
    StoreStats stats;
    static constexpr const char* kTables[] = {"builder", "build",     "build_property", "step",
                                              "log",     "log_chunk", "zstd_dictionary"};
    constexpr int kTableCount = sizeof(kTables) / sizeof(kTables[0]);
    for (int i = 0; i < kTableCount; ++i) {
      stats.rows.emplace_back(kTables[i], query.getColumn(i).getInt64());
    }
    stats.log_raw_bytes = query.getColumn(kTableCount).getInt64();
    stats.log_stored_bytes = query.getColumn(kTableCount + 1).getInt64();
    stats.purged_logs = query.getColumn(kTableCount + 2).getInt64();
    stats.dictionary_bytes = query.getColumn(kTableCount + 3).getInt64();
    return stats;
  });
}

std::size_t check_store(Connection& connection, const std::function<void(const Problem&)>& sink) {
  return guard_sql("check the store", [&] {
    std::size_t problems = 0;

    auto& integrity = connection.statement("PRAGMA integrity_check(100)");
    while (integrity.executeStep()) {
      const std::string message = integrity.getColumn(0).getString();
      if (message == "ok") continue;
      sink(Problem{"sqlite", message});
      ++problems;
    }

    // The same bound as report_rows, counted here: a PRAGMA has no count(*) OVER ().
    auto& foreign_keys = connection.statement("PRAGMA foreign_key_check");
    std::size_t orphans = 0;
    while (foreign_keys.executeStep()) {
      if (++orphans <= kProblemsPerCheck) {
        sink(Problem{foreign_keys.getColumn(0).getString(),
                     "row " + foreign_keys.getColumn(1).getString() +
                         " refers to a missing row of " + foreign_keys.getColumn(2).getString()});
      }
    }
    if (orphans > kProblemsPerCheck) {
      sink(Problem{"foreign keys",
                   std::to_string(orphans - kProblemsPerCheck) + " more problems of this kind"});
    }
    problems += orphans;

    auto& gaps = connection.statement(
        "SELECT " BUILDHIST_LOG_PLACE_COLUMNS ", g.first_line, g.previous_last, "
        "count(*) OVER () FROM (SELECT log_id, first_line, "
        "lag(last_line) OVER (PARTITION BY log_id ORDER BY first_line) AS previous_last "
        "FROM log_chunk) g JOIN log l ON l.id = g.log_id" BUILDHIST_LOG_PLACE
        " WHERE (g.previous_last IS NULL AND g.first_line <> 0) "
        "OR g.first_line <> g.previous_last + 1");
    problems += report_rows(gaps, "log_chunk", [](const SQLite::Statement& row) {
      const std::string first = row.getColumn(4).getString();
      return Problem{problem_where(row, 0),
                     row.isColumnNull(5)
                         ? "the log's first chunk starts at line " + first + ", not 0"
                         : "a chunk starts at line " + first + " after one ending at line " +
                               row.getColumn(5).getString()};
    }, sink);

    // A purged log keeps its num_lines but has no chunks.
    auto& counts = connection.statement(
        "SELECT " BUILDHIST_LOG_PLACE_COLUMNS ", l.num_lines, c.stored, l.purged_at IS NOT NULL, "
        "count(*) OVER () FROM log l" BUILDHIST_LOG_PLACE
        " JOIN (SELECT l2.id AS log_id, ifnull(max(c2.last_line) + 1, 0) AS stored "
        "FROM log l2 LEFT JOIN log_chunk c2 ON c2.log_id = l2.id GROUP BY l2.id) c "
        "ON c.log_id = l.id "
        "WHERE c.stored <> CASE WHEN l.purged_at IS NULL THEN l.num_lines ELSE 0 END");
    problems += report_rows(counts, "log", [](const SQLite::Statement& row) {
      const std::string stored = row.getColumn(5).getString();
      return Problem{problem_where(row, 0),
                     row.getColumn(6).getInt() != 0
                         ? "is purged, but its chunks hold " + stored + " lines"
                         : "num_lines is " + row.getColumn(4).getString() +
                               " but the chunks hold " + stored + " lines"};
    }, sink);

    // A chunk's dictionary was trained on its own builder's logs.
    auto& dictionaries = connection.statement(
        "SELECT " BUILDHIST_LOG_PLACE_COLUMNS ", c.first_line, c.dictionary_id, count(*) OVER () "
        "FROM log_chunk c JOIN log l ON l.id = c.log_id" BUILDHIST_LOG_PLACE
        " JOIN zstd_dictionary d ON d.id = c.dictionary_id WHERE d.builder_id <> b.builder_id");
    problems += report_rows(dictionaries, "log_chunk", [](const SQLite::Statement& row) {
      return Problem{problem_where(row, 0), "the chunk at line " + row.getColumn(4).getString() +
                                                " uses zstd dictionary " +
                                                row.getColumn(5).getString() +
                                                " of another builder"};
    }, sink);

    auto& sizes = connection.statement(
        "SELECT " BUILDHIST_LOG_PLACE_COLUMNS ", c.first_line, count(*) OVER () "
        "FROM log_chunk c JOIN log l ON l.id = c.log_id" BUILDHIST_LOG_PLACE
        " WHERE c.codec = 0 AND length(CAST(c.content AS BLOB)) <> c.raw_bytes");
    problems += report_rows(sizes, "log_chunk", [](const SQLite::Statement& row) {
      return Problem{problem_where(row, 0), "the chunk at line " + row.getColumn(4).getString() +
                                                " does not hold raw_bytes bytes"};
    }, sink);

    // UNIQUE constraints keep these, unless the file was damaged or edited by hand.
    auto& numbers = connection.statement(
        "SELECT 'build', r.name || ' #' || number, count(*) FROM build "
        "JOIN builder r ON r.id = builder_id GROUP BY builder_id, number HAVING count(*) > 1 "
        "UNION ALL SELECT 'step', 'build id ' || build_id || ' step ' || number, count(*) "
        "FROM step GROUP BY build_id, number HAVING count(*) > 1 "
        "UNION ALL SELECT 'step', 'build id ' || build_id || ' step ' || quote(name), "
        "count(*) FROM step GROUP BY build_id, name HAVING count(*) > 1 "
        "UNION ALL SELECT 'log', 'step id ' || step_id || ' log ' || quote(slug), count(*) "
        "FROM log GROUP BY step_id, slug HAVING count(*) > 1");
    while (numbers.executeStep()) {
      sink(Problem{numbers.getColumn(0).getString() + " " + numbers.getColumn(1).getString(),
                   "is used " + numbers.getColumn(2).getString() + " times"});
      ++problems;
    }

    auto& builds = connection.statement(
        "SELECT r.name, b.number, NULL, NULL, b.complete_at IS NULL, count(*) OVER () "
        "FROM build b JOIN builder r ON r.id = b.builder_id "
        "WHERE (b.complete_at IS NULL) <> (b.results IS NULL) OR b.complete_at < b.started_at");
    problems += report_rows(builds, "build", [](const SQLite::Statement& row) {
      return Problem{problem_where(row, 0),
                     row.getColumn(4).getInt() != 0
                         ? "has results but no complete_at"
                         : "is complete without results, or completed before it started"};
    }, sink);

    auto& steps = connection.statement(
        "SELECT r.name, b.number, s.number, NULL, count(*) OVER () FROM step s "
        "JOIN build b ON b.id = s.build_id JOIN builder r ON r.id = b.builder_id "
        "WHERE (s.complete_at IS NULL) <> (s.results IS NULL)");
    problems += report_rows(steps, "step", [](const SQLite::Statement& row) {
      return Problem{problem_where(row, 0), "has one of results and complete_at without the other"};
    }, sink);
    return problems;
  });
}

}  // namespace buildhist::internal
