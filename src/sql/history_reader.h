// The query side's SQL: builders, build lists, property lookups, log state, the
// store's figures and its consistency checks. Each function runs a fixed number of
// statements and streams rows to its sink as they are stepped.
#ifndef BUILDHIST_SQL_HISTORY_READER_H_
#define BUILDHIST_SQL_HISTORY_READER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "buildhist/history.h"

namespace buildhist::internal {

class Connection;

void list_builders(Connection& connection,
                   const std::function<bool(const BuilderSummary&)>& sink);

void list_builds(Connection& connection, std::int64_t builder_id, std::string_view builder,
                 const BuildFilter& filter, const std::function<bool(const BuildRecord&)>& sink);

// Builds with property `name` equal to `json_value` or `string_value`, newest first.
void list_builds_by_property(Connection& connection, std::string_view name,
                             std::string_view json_value, std::string_view string_value,
                             std::optional<std::int64_t> builder_id,
                             const std::function<bool(const BuildRecord&)>& sink);

// The log at (build, step, slug), with its step's number and name.
struct LogRow {
  std::int64_t id = 0;
  int step_number = 0;
  std::string step_name;
  LogRecord record;
};
std::optional<LogRow> find_log_row(Connection& connection, std::int64_t builder_id,
                                   int build_number, const StepSelector& step,
                                   std::string_view slug);
// Whether the build has that step (to say which part of a reference is missing).
bool step_exists(Connection& connection, std::int64_t builder_id, int build_number,
                 const StepSelector& step);

struct LogState {
  std::int64_t num_lines = 0;
  bool complete = false;
  bool build_complete = false;
};
// nullopt when the log no longer exists.
std::optional<LogState> read_log_state(Connection& connection, std::int64_t log_id);

// Changes whenever another connection commits (PRAGMA data_version).
std::int64_t data_version(Connection& connection);

// Row counts and log byte totals; the caller adds sizes on disk and the version.
StoreStats read_store_counts(Connection& connection);

// SQLite's checks and the store's invariants, as History::check describes.
std::size_t check_store(Connection& connection, const std::function<void(const Problem&)>& sink);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_HISTORY_READER_H_
