#include "sql/status_reader.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "buildhist/error.h"
#include "util/json_text.h"
#include "util/chunk_decoder.h"
#include "util/log_codec.h"
#include "sql/connection.h"
#include "sql/dictionary_cache.h"

namespace buildhist::internal {

namespace {

LoadedBuild build_from_row(const SQLite::Statement& row, std::string_view builder) {
  LoadedBuild build;
  build.id = row.getColumn(0).getInt64();
  build.record.builder = std::string(builder);
  read_build_columns(row, 1, build.record);
  return build;
}

// The children of one build, or of several (a JSON array of ids, unpacked by
// json_each: one bound parameter whatever the page size, so one prepared statement).
#define BUILDHIST_PROPERTIES_OF(builds)                              \
  "SELECT build_id, name, value, source FROM build_property "        \
  "WHERE build_id " builds " ORDER BY build_id, name"
#define BUILDHIST_STEPS_OF(builds)                                              \
  "SELECT s.build_id, s.id, s.number, s.name, s.started_at, s.complete_at, "    \
  "s.state_string, s.results, s.urls, s.hidden, "                               \
  "l.id, l.slug, l.name, l.type, l.num_lines, l.complete, l.purged_at "         \
  "FROM step s LEFT JOIN log l ON l.step_id = s.id "                            \
  "WHERE s.build_id " builds " ORDER BY s.build_id, s.number"
constexpr const char* kPropertiesOfOne = BUILDHIST_PROPERTIES_OF("= ?");
constexpr const char* kPropertiesOfMany =
    BUILDHIST_PROPERTIES_OF("IN (SELECT value FROM json_each(?))");
constexpr const char* kStepsOfOne = BUILDHIST_STEPS_OF("= ?");
constexpr const char* kStepsOfMany = BUILDHIST_STEPS_OF("IN (SELECT value FROM json_each(?))");

// A JSON array of the builds' ids: one bound parameter whatever the page size,
// so the statement is prepared once (json_each unpacks it).
std::string id_array(const std::vector<LoadedBuild*>& builds) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartArray();
  for (const LoadedBuild* build : builds) writer.Int64(build->id);
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::optional<Results> column_results(const SQLite::Statement& row, int index) {
  if (row.isColumnNull(index)) return std::nullopt;
  return results_from_code(row.getColumn(index).getInt());
}

void read_build_columns(const SQLite::Statement& row, int first, BuildRecord& record) {
  record.number = row.getColumn(first).getInt();
  record.worker = row.getColumn(first + 1).getString();
  record.started_at = row.getColumn(first + 2).getInt64();
  record.complete_at = column_optional(row, first + 3);
  record.state_string = row.getColumn(first + 4).getString();
  record.results = column_results(row, first + 5);
}

std::optional<BuilderRow> find_builder(Connection& connection, std::string_view name) {
  return guard_sql("find builder " + std::string(name), [&]() -> std::optional<BuilderRow> {
    auto& query = connection.statement(
        "SELECT id, (SELECT max(number) FROM build WHERE builder_id = builder.id) "
        "FROM builder WHERE name = ?");
    query.bind(1, std::string(name));
    if (!query.executeStep()) return std::nullopt;
    BuilderRow row;
    row.id = query.getColumn(0).getInt64();
    row.last_number = query.isColumnNull(1) ? 0 : query.getColumn(1).getInt();
    return row;
  });
}

MaxIds max_ids(Connection& connection) {
  return guard_sql("read the largest row ids", [&] {
    auto& query = connection.statement(
        "SELECT (SELECT ifnull(max(id), 0) FROM builder), (SELECT ifnull(max(id), 0) FROM build), "
        "(SELECT ifnull(max(id), 0) FROM step), (SELECT ifnull(max(id), 0) FROM log)");
    query.executeStep();
    return MaxIds{query.getColumn(0).getInt64(), query.getColumn(1).getInt64(),
                  query.getColumn(2).getInt64(), query.getColumn(3).getInt64()};
  });
}

std::optional<LoadedBuild> load_build_row(Connection& connection, std::int64_t builder_id,
                                          std::string_view builder, int number) {
  const std::string what = "load build " + std::string(builder) + "/" + std::to_string(number);
  return guard_sql(what, [&]() -> std::optional<LoadedBuild> {
    auto& query = connection.statement(
        "SELECT id, " BUILDHIST_BUILD_COLUMNS("") " FROM build WHERE builder_id = ? AND number = ?");
    query.bind(1, static_cast<std::int64_t>(builder_id));
    query.bind(2, number);
    if (!query.executeStep()) return std::nullopt;
    return build_from_row(query, builder);
  });
}

std::vector<LoadedBuild> load_page_rows(Connection& connection, std::int64_t builder_id,
                                        std::string_view builder, std::optional<int> before,
                                        int limit) {
  const std::string what = "list builds of " + std::string(builder);
  return guard_sql(what, [&] {
    auto& query = connection.statement(
        "SELECT id, " BUILDHIST_BUILD_COLUMNS("") " FROM build "
        "WHERE builder_id = ? AND number < ? ORDER BY number DESC LIMIT ?");
    query.bind(1, static_cast<std::int64_t>(builder_id));
    query.bind(2, before.value_or(std::numeric_limits<int>::max()));
    query.bind(3, limit);
    std::vector<LoadedBuild> builds;
    while (query.executeStep()) builds.push_back(build_from_row(query, builder));
    return builds;
  });
}

void load_children(Connection& connection, const std::vector<LoadedBuild*>& builds) {
  if (builds.empty()) return;
  guard_sql("load steps and properties of " + std::to_string(builds.size()) + " builds", [&] {
    std::unordered_map<std::int64_t, LoadedBuild*> by_id;
    for (LoadedBuild* build : builds) by_id.emplace(build->id, build);
    // One build (a lookup, a refault) is `build_id = ?`, half the work of unpacking
    // a JSON array; a page binds all its ids as one array.
    const bool one = builds.size() == 1;
    const std::string ids = one ? std::string() : id_array(builds);
    const auto bind_builds = [&](SQLite::Statement& statement) {
      if (one) {
        statement.bind(1, static_cast<std::int64_t>(builds.front()->id));
      } else {
        statement.bind(1, ids);
      }
    };

    auto& properties = connection.statement(one ? kPropertiesOfOne : kPropertiesOfMany);
    bind_builds(properties);
    while (properties.executeStep()) {
      by_id.at(properties.getColumn(0).getInt64())
          ->properties.push_back(Property{properties.getColumn(1).getString(),
                                          properties.getColumn(2).getString(),
                                          properties.getColumn(3).getString()});
    }

    auto& steps = connection.statement(one ? kStepsOfOne : kStepsOfMany);
    bind_builds(steps);
    while (steps.executeStep()) {
      LoadedBuild& build = *by_id.at(steps.getColumn(0).getInt64());
      const std::int64_t step_id = steps.getColumn(1).getInt64();
      if (build.steps.empty() || build.steps.back().id != step_id) {
        LoadedStep step;
        step.id = step_id;
        step.record.number = steps.getColumn(2).getInt();
        step.record.name = steps.getColumn(3).getString();
        step.record.started_at = column_optional(steps, 4);
        step.record.complete_at = column_optional(steps, 5);
        step.record.state_string = steps.getColumn(6).getString();
        step.record.results = column_results(steps, 7);
        step.record.urls = urls_from_json(steps.getColumn(8).getString());
        step.record.hidden = steps.getColumn(9).getInt() != 0;
        build.steps.push_back(std::move(step));
      }
      if (steps.isColumnNull(10)) continue;  // a step without logs
      LoadedLog log;
      log.id = steps.getColumn(10).getInt64();
      log.record.slug = steps.getColumn(11).getString();
      log.record.name = steps.getColumn(12).getString();
      const std::string type = steps.getColumn(13).getString();
      log.record.type = static_cast<LogType>(type.empty() ? 's' : type[0]);
      log.record.num_lines = steps.getColumn(14).getInt64();
      log.record.complete = steps.getColumn(15).getInt() != 0;
      log.record.purged_at = column_optional(steps, 16);
      build.steps.back().logs.push_back(std::move(log));
    }
    // A step's logs in the order they were added. Sorting them here, a handful at a
    // time, spares SQLite a sorter: the (build_id, number) index already gives the
    // rest of the order.
    for (LoadedBuild* build : builds) {
      for (LoadedStep& step : build->steps) {
        std::sort(step.logs.begin(), step.logs.end(),
                  [](const LoadedLog& a, const LoadedLog& b) { return a.id < b.id; });
      }
    }
  });
}

void read_log_lines(Connection& connection, std::int64_t log_id, std::int64_t from,
                    std::int64_t limit, const std::function<bool(const LogLine&)>& sink) {
  guard_sql("read log " + std::to_string(log_id), [&] {
    // Start at the chunk holding line `from`: both lookups use (log_id, first_line).
    auto& chunks = connection.statement(
        "SELECT first_line, last_line, codec, raw_bytes, content, dictionary_id FROM log_chunk "
        "WHERE log_id = ?1 AND first_line >= ifnull((SELECT max(first_line) FROM log_chunk "
        "WHERE log_id = ?1 AND first_line <= ?2), 0) ORDER BY first_line");
    chunks.bind(1, static_cast<std::int64_t>(log_id));
    chunks.bind(2, static_cast<std::int64_t>(from));
    // A limit past the last possible line means to the end (and must not overflow).
    constexpr std::int64_t kNoEnd = std::numeric_limits<std::int64_t>::max();
    const std::int64_t end = limit > 0 && limit < kNoEnd - from ? from + limit : kNoEnd;
    ChunkDecoder& decoder = connection.chunk_decoder();
    while (chunks.executeStep()) {
      std::int64_t number = chunks.getColumn(0).getInt64();
      if (number >= end) return;
      const auto content = chunks.getColumn(4);
      const std::string_view text = decoder.decode(
          static_cast<ChunkCodec>(chunks.getColumn(2).getInt()),
          std::string_view(static_cast<const char*>(content.getBlob()),
                           static_cast<std::size_t>(content.getBytes())),
          chunks.getColumn(3).getInt64(),
          connection.dictionaries().find(column_optional(chunks, 5)));
      bool more = true;
      for_each_line(text, [&](std::string_view line) {
        if (more && number >= from && number < end) more = sink(LogLine{number, line});
        ++number;
      });
      if (!more) return;
    }
  });
}

}  // namespace buildhist::internal
