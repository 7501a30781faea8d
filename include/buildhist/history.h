// buildhist: questions about a store's history, answered from SQLite.
//
// History is the query side: what `buildhist` prints and what a master asks of its
// own store. Lists are streamed to a sink as SQLite returns the rows, never
// collected first, so any history is answered in bounded memory; pages by number
// are keyset queries on an index; each question costs a constant number of SQL
// statements, whatever the number of rows.
//
// It reads what is committed (another process's master included, in WAL mode,
// without blocking it); a master that wants its own buffered writes in an answer
// calls Store::flush() first. `show` goes through the store's cache, so in the
// writing process it returns the live objects' state.
//
// Thread-safety: a History may be used from any thread; each call takes a reader
// connection of its own for the call's duration. Errors: buildhist::Error, with
// kNotFound naming what does not exist.
#ifndef BUILDHIST_HISTORY_H_
#define BUILDHIST_HISTORY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/grep.h"
#include "buildhist/records.h"
#include "buildhist/reference.h"
#include "buildhist/trends.h"

namespace buildhist {

class Store;

struct BuilderSummary {
  std::string name;
  std::int64_t builds = 0;
  std::optional<int> newest;  // the newest build's number; nullopt without builds
  std::optional<Results> newest_results;
  std::optional<std::int64_t> newest_complete_at;
};

// Which builds of a builder, newest first.
struct BuildFilter {
  int limit = 20;                      // 0: all of them
  std::optional<int> before;           // numbers below this one only (keyset paging)
  std::optional<Results> results;      // only builds with these results
  std::optional<std::int64_t> since;   // only builds started at or after this time
  std::optional<std::int64_t> until;   // only builds started before this time
};

struct StepDetail {
  StepRecord step;
  std::vector<LogRecord> logs;
  bool operator==(const StepDetail&) const = default;
};

struct BuildDetail {
  BuildRecord build;
  std::vector<Property> properties;
  std::vector<StepDetail> steps;
  bool operator==(const BuildDetail&) const = default;
};

// Where a log is, and what it holds now.
struct LogDetail {
  std::int64_t id = 0;  // the log's row in this store
  Reference reference;  // with the step by number and the log by slug
  std::string step_name;
  LogRecord log;
};

struct StoreStats {
  int schema_version = 0;
  std::vector<std::pair<std::string, std::int64_t>> rows;  // per table, in schema order
  std::int64_t db_bytes = 0;   // the database file
  std::int64_t wal_bytes = 0;  // its write-ahead log
  std::int64_t log_raw_bytes = 0;     // log text as appended
  std::int64_t log_stored_bytes = 0;  // log chunks as stored (after compression)
  double log_compression_ratio = 0;   // raw / stored; 0 when there is no log text
  std::int64_t purged_logs = 0;       // logs whose text compact deleted
  std::int64_t dictionary_bytes = 0;  // the zstd dictionaries, not in log_stored_bytes
};

// One problem `check` found: what is wrong, and where (a reference or a table).
struct Problem {
  std::string where;
  std::string what;
};

class History {
 public:
  // Borrows `store`, which must outlive the History.
  explicit History(Store& store) noexcept : store_(store) {}

  // Every builder, by name.
  void builders(const std::function<bool(const BuilderSummary&)>& sink);

  // The builder's builds that pass `filter`, newest first. One statement.
  // Throws Error(kNotFound) for an unknown builder, kInvalidArgument for a bad filter.
  void builds(std::string_view builder, const BuildFilter& filter,
              const std::function<bool(const BuildRecord&)>& sink);

  // A build with its properties, steps and their logs. Throws Error(kNotFound).
  BuildDetail show(std::string_view builder, int number);

  // The log `reference` names (it must name a step and a log). Throws Error(kNotFound)
  // naming the first part that does not exist.
  LogDetail find_log(const Reference& reference);

  // Streams lines [from, from + limit) of the log (limit 0: to its end).
  void read_log(const LogDetail& log, std::int64_t from, std::int64_t limit,
                const std::function<bool(const LogLine&)>& sink);

  // Streams the log's lines from `from` as they are committed, by whichever process,
  // until the log is complete (or its build is, if a master died before finishing
  // the log), checking for new commits every `poll`. Returns early when `sink`
  // returns false. Never holds the log in memory.
  void follow_log(const LogDetail& log, std::int64_t from,
                  const std::function<bool(const LogLine&)>& sink,
                  std::chrono::milliseconds poll = std::chrono::milliseconds(100));

  // Builds whose property `name` has `value`, newest first; `value` is matched as
  // the JSON text stored and as a JSON string (so got_revision=3f2a... matches
  // "3f2a..."). One indexed lookup. With `builder`, only that builder's builds
  // (Error(kNotFound) if there is no such builder).
  void find_by_property(std::string_view name, std::string_view value,
                        std::optional<std::string_view> builder,
                        const std::function<bool(const BuildRecord&)>& sink);

  StoreStats stats();

  // SQLite's integrity and foreign-key checks, then the store's own invariants:
  // log chunks contiguous from line 0, num_lines matching the chunks (none for a
  // purged log), a chunk's dictionary its own builder's, numbers and names unique, results set exactly when a build or step is complete. Streams
  // each problem found; returns how many.
  std::size_t check(const std::function<void(const Problem&)>& sink);

  // Searches the text of the logs `query` selects, newest builds first (oldest
  // first for Pick::kFirst), streaming events to `sink` as they are found;
  // stops when `sink` returns false or max_count/pick is satisfied. A constant
  // number of statements plus one a log scanned. Throws Error(kInvalidArgument)
  // for a bad pattern or query, Error(kNotFound) for an unknown builder.
  GrepSummary grep(const GrepQuery& query, const std::function<bool(const GrepEvent&)>& sink);
  // Per builder (by name, or in the query's order), the builds' buckets in time
  // order, then each step's (by step name, or only the query's step), streamed as
  // each bucket is complete. Two statements per builder. Throws Error(kNotFound)
  // for an unknown builder, kInvalidArgument for since >= until or a bad bucketing.
  void trends(const TrendQuery& query, const std::function<bool(const TrendBucket&)>& sink);

  // The flaky steps of the query's builders, most flaky first: same-key values
  // (descending), then flip rate (descending), then builder and step. Memory grows
  // with the builders' distinct step names, not with their builds. Throws as trends
  // does, and kInvalidArgument for an empty key or a rate outside [0, 1].
  void flaky(const FlakyQuery& query, const std::function<bool(const FlakyStep&)>& sink);

 private:
  Store& store_;
};

}  // namespace buildhist

#endif  // BUILDHIST_HISTORY_H_
