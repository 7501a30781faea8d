#include "sql/buildbot_reader.h"

#include <algorithm>
#include <array>
#include <set>

namespace buildhist::internal {

namespace {

// Alembic revisions of buildbot's schema: 059 is 3.x's initial one (3.7), 066
// buildbot 4.0 to 4.2, 067 4.3. Every revision in between only adds what this
// reader does not read.
constexpr int kOldestVersion = 59;
constexpr int kNewestVersion = 67;

struct TableColumns {
  const char* table;
  std::vector<const char*> columns;
};

// What this reader reads, and therefore requires.
const std::array<TableColumns, 7>& required_columns() {
  static const std::array<TableColumns, 7> required = {{
      {"builders", {"id", "name"}},
      {"workers", {"id", "name"}},
      {"builds", {"id", "number", "builderid", "workerid", "started_at", "complete_at",
                  "state_string", "results"}},
      {"build_properties", {"buildid", "name", "value", "source"}},
      {"steps", {"id", "number", "name", "buildid", "started_at", "complete_at",
                 "state_string", "results", "urls_json", "hidden"}},
      {"logs", {"id", "name", "slug", "stepid", "complete", "num_lines", "type"}},
      {"logchunks", {"logid", "first_line", "last_line", "content", "compressed"}},
  }};
  return required;
}

std::optional<int> column_int(const SQLite::Statement& statement, int index) {
  const auto value = column_optional(statement, index);
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

Error schema_error(const std::string& path, const std::string& what) {
  return Error(ErrorCode::kCorrupt, path + ": not a buildbot database this buildhist reads: " + what);
}

}  // namespace

BuildbotReader::BuildbotReader(const std::string& path, std::chrono::milliseconds busy_timeout)
    : connection_(path, Connection::Mode::kReadOnly, busy_timeout, nullptr) {
  guard_sql("read the schema of " + path, [&] { check_schema(); });
}

void BuildbotReader::check_schema() {
  const std::string& path = connection_.path();
  auto& table = connection_.statement(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
  table.bind(1, "alembic_version");
  table.executeStep();
  if (table.getColumn(0).getInt() == 0) {
    throw schema_error(path, "it has no alembic_version table (buildbot 3.x and 4.x have one)");
  }
  auto& version = connection_.statement("SELECT version_num FROM alembic_version");
  if (!version.executeStep()) throw schema_error(path, "alembic_version is empty");
  version_ = version.getColumn(0).getString();
  version.reset();
  const bool numeric = !version_.empty() && version_.size() <= 3 &&
                       std::all_of(version_.begin(), version_.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
  const int number = numeric ? std::stoi(version_) : -1;
  if (number < kOldestVersion || number > kNewestVersion) {
    throw schema_error(path, "unknown schema version '" + version_ +
                                 "' (known: 059 for buildbot 3.7 to 067 for buildbot 4.3)");
  }
  auto& columns = connection_.statement("SELECT name FROM pragma_table_info(?)");
  for (const TableColumns& required : required_columns()) {
    columns.reset();
    columns.bind(1, required.table);
    std::set<std::string> present;
    while (columns.executeStep()) present.insert(columns.getColumn(0).getString());
    if (present.empty()) {
      throw schema_error(path, "schema " + version_ + " without table " + required.table);
    }
    for (const char* column : required.columns) {
      if (present.count(column) == 0) {
        throw schema_error(path, "schema " + version_ + ": table " + required.table +
                                     " has no column " + column);
      }
    }
  }
  columns.reset();
}

std::vector<BuildbotBuilder> BuildbotReader::builders(std::optional<std::string_view> only) {
  return guard_sql("read builders of " + connection_.path(), [&] {
    auto& select = connection_.statement(
        "SELECT id, name FROM builders WHERE ?1 IS NULL OR name = ?1 ORDER BY id");
    if (only) select.bind(1, std::string(*only));
    std::vector<BuildbotBuilder> builders;
    while (select.executeStep()) {
      builders.push_back({select.getColumn(0).getInt64(), select.getColumn(1).getString()});
    }
    return builders;
  });
}

namespace {

BuildbotBuild build_from_row(const SQLite::Statement& row) {
  BuildbotBuild build;
  build.id = row.getColumn(0).getInt64();
  build.number = row.getColumn(1).getInt();
  build.worker = row.getColumn(2).isNull() ? std::string() : row.getColumn(2).getString();
  build.started_at = row.getColumn(3).getInt64();
  build.complete_at = column_optional(row, 4);
  build.state_string = row.getColumn(5).getString();
  build.results = column_int(row, 6);
  return build;
}

}  // namespace

void BuildbotReader::builds_after(std::int64_t builder_id, int after,
                                  const std::function<bool(const BuildbotBuild&)>& sink) {
  guard_sql("read builds of " + connection_.path(), [&] {
    auto& select = connection_.statement(
        "SELECT b.id, b.number, w.name, b.started_at, b.complete_at, b.state_string, b.results "
        "FROM builds b LEFT JOIN workers w ON w.id = b.workerid "
        "WHERE b.builderid = ? AND b.number > ? ORDER BY b.number");
    select.bind(1, static_cast<std::int64_t>(builder_id));
    select.bind(2, after);
    while (select.executeStep()) {
      if (!sink(build_from_row(select))) break;
    }
    select.reset();
  });
}

std::optional<BuildbotBuild> BuildbotReader::build(std::int64_t builder_id, int number) {
  return guard_sql("read a build of " + connection_.path(), [&]() -> std::optional<BuildbotBuild> {
    auto& select = connection_.statement(
        "SELECT b.id, b.number, w.name, b.started_at, b.complete_at, b.state_string, b.results "
        "FROM builds b LEFT JOIN workers w ON w.id = b.workerid "
        "WHERE b.builderid = ? AND b.number = ?");
    select.bind(1, static_cast<std::int64_t>(builder_id));
    select.bind(2, number);
    if (!select.executeStep()) return std::nullopt;
    BuildbotBuild build = build_from_row(select);
    select.reset();
    return build;
  });
}

std::vector<BuildbotProperty> BuildbotReader::properties(std::int64_t build_id) {
  return guard_sql("read build properties of " + connection_.path(), [&] {
    auto& select = connection_.statement(
        "SELECT name, value, source FROM build_properties WHERE buildid = ? ORDER BY name");
    select.bind(1, static_cast<std::int64_t>(build_id));
    std::vector<BuildbotProperty> properties;
    while (select.executeStep()) {
      properties.push_back({select.getColumn(0).getString(), select.getColumn(1).getString(),
                            select.getColumn(2).getString()});
    }
    return properties;
  });
}

std::vector<BuildbotStep> BuildbotReader::steps(std::int64_t build_id) {
  return guard_sql("read steps of " + connection_.path(), [&] {
    auto& select = connection_.statement(
        "SELECT id, number, name, started_at, complete_at, state_string, results, urls_json, "
        "hidden FROM steps WHERE buildid = ? ORDER BY number");
    select.bind(1, static_cast<std::int64_t>(build_id));
    std::vector<BuildbotStep> steps;
    while (select.executeStep()) {
      BuildbotStep step;
      step.id = select.getColumn(0).getInt64();
      step.number = select.getColumn(1).getInt();
      step.name = select.getColumn(2).getString();
      step.started_at = column_optional(select, 3);
      step.complete_at = column_optional(select, 4);
      step.state_string = select.getColumn(5).getString();
      step.results = column_int(select, 6);
      step.urls_json = select.getColumn(7).getString();
      step.hidden = select.getColumn(8).getInt() != 0;
      steps.push_back(std::move(step));
    }
    return steps;
  });
}

std::vector<BuildbotLog> BuildbotReader::logs(std::int64_t step_id) {
  return guard_sql("read logs of " + connection_.path(), [&] {
    auto& select = connection_.statement(
        "SELECT id, name, slug, type, num_lines, complete FROM logs WHERE stepid = ? ORDER BY id");
    select.bind(1, static_cast<std::int64_t>(step_id));
    std::vector<BuildbotLog> logs;
    while (select.executeStep()) {
      BuildbotLog log;
      log.id = select.getColumn(0).getInt64();
      log.name = select.getColumn(1).getString();
      log.slug = select.getColumn(2).getString();
      const std::string type = select.getColumn(3).getString();
      log.type = type.empty() ? '?' : type[0];
      log.num_lines = select.getColumn(4).getInt64();
      log.complete = select.getColumn(5).getInt() != 0;
      logs.push_back(std::move(log));
    }
    return logs;
  });
}

void BuildbotReader::chunks(std::int64_t log_id,
                            const std::function<void(const BuildbotChunk&)>& sink) {
  guard_sql("read log chunks of " + connection_.path(), [&] {
    auto& select = connection_.statement(
        "SELECT first_line, last_line, compressed, content FROM logchunks WHERE logid = ? "
        "ORDER BY first_line");
    select.bind(1, static_cast<std::int64_t>(log_id));
    while (select.executeStep()) {
      BuildbotChunk chunk;
      chunk.first_line = select.getColumn(0).getInt64();
      chunk.last_line = select.getColumn(1).getInt64();
      chunk.compressed = select.getColumn(2).getInt();
      const SQLite::Column content = select.getColumn(3);
      chunk.content = std::string_view(static_cast<const char*>(content.getBlob()),
                                       static_cast<std::size_t>(content.getBytes()));
      sink(chunk);
    }
    select.reset();
  });
}

}  // namespace buildhist::internal
