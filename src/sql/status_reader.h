// Reading status rows for the cache: a build with its properties, steps and logs.
//
// Statement budget (DESIGN.md invariants 6, and the refault figure): one build is
// three statements (its row, its properties, its steps joined with their logs); a
// page of n builds is the same three, whatever n is.
#ifndef BUILDHIST_SQL_STATUS_READER_H_
#define BUILDHIST_SQL_STATUS_READER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Statement.h>

#include "buildhist/records.h"

namespace buildhist::internal {

class Connection;

// The columns of a BuildRecord but its builder, in the order read_build_columns
// reads them; a query selects them (with a table alias if it needs one) from
// column `first` on.
#define BUILDHIST_BUILD_COLUMNS(t) \
  t "number, " t "worker, " t "started_at, " t "complete_at, " t "state_string, " t "results"
void read_build_columns(const SQLite::Statement& row, int first, BuildRecord& record);

// A nullable results column.
std::optional<Results> column_results(const SQLite::Statement& row, int index);

struct LoadedLog {
  std::int64_t id = 0;
  LogRecord record;
};

struct LoadedStep {
  std::int64_t id = 0;
  StepRecord record;
  std::vector<LoadedLog> logs;
};

struct LoadedBuild {
  std::int64_t id = 0;
  BuildRecord record;
  std::vector<Property> properties;
  std::vector<LoadedStep> steps;
};

struct BuilderRow {
  std::int64_t id = 0;
  int last_number = 0;  // 0 when the builder has no builds
};

struct MaxIds {
  std::int64_t builder = 0, build = 0, step = 0, log = 0;
};

std::optional<BuilderRow> find_builder(Connection& connection, std::string_view name);

MaxIds max_ids(Connection& connection);

// The build's own row (no children); `builder` names it in the record.
std::optional<LoadedBuild> load_build_row(Connection& connection, std::int64_t builder_id,
                                          std::string_view builder, int number);

// Rows of a builder's builds, newest first, below `before` if given (keyset).
std::vector<LoadedBuild> load_page_rows(Connection& connection, std::int64_t builder_id,
                                        std::string_view builder, std::optional<int> before,
                                        int limit);

// Fills in properties, steps and logs of `builds` in two statements.
void load_children(Connection& connection, const std::vector<LoadedBuild*>& builds);

// Streams lines [from, from + limit) of a log (limit 0: all) to `sink` until it
// returns false, decoding one chunk at a time.
void read_log_lines(Connection& connection, std::int64_t log_id, std::int64_t from,
                    std::int64_t limit, const std::function<bool(const LogLine&)>& sink);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_STATUS_READER_H_
