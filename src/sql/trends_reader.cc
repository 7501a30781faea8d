#include "sql/trends_reader.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "sql/connection.h"
#include "sql/status_reader.h"

namespace buildhist::internal {

namespace {

// The bucket of a run from its build's `started_at` and `number` (?4 width, ?5
// offset, ?6 builds per bucket): floor division, so that times before the offset
// fall in the bucket before, not in bucket 0.
#define BUILDHIST_BUCKET(started, number)                                              \
  "CASE WHEN ?4 > 0 THEN ((" started " - ?5) - ((((" started " - ?5) % ?4) + ?4) % ?4))" \
  " / ?4 ELSE (" number " - 1) / ?6 END"

// A histogram of each bucket's durations: one row per (name, bucket, duration) with
// its runs, finished runs, a count per results code, and the numbers and start times
// it spans. Grouping by the duration is a fraction of the cost of ranking every run
// with a window function (measured: about a fifth), and gives exact percentiles.
// `runs` selects name, bucket, number, started_at, d (duration), results.
#define BUILDHIST_BUCKET_HISTOGRAM(runs)                                                \
  "SELECT name, bucket, d, count(*), count(results), sum(results = 0), "                \
  "sum(results = 1), sum(results = 2), sum(results = 3), sum(results = 4), "            \
  "sum(results = 5), sum(results = 6), min(number), max(number), min(started_at), "     \
  "max(started_at) FROM (" runs ") GROUP BY name, bucket, d ORDER BY name, bucket, d"

// The duration with at least `percent` of the `finished` runs at or below it, by
// nearest rank, from a histogram in increasing duration order.
std::int64_t nearest_rank(const std::vector<std::pair<std::int64_t, std::int64_t>>& histogram,
                          std::int64_t finished, std::int64_t percent) {
  const std::int64_t rank = (finished * percent + 99) / 100;
  std::int64_t seen = 0;
  for (const auto& [duration, count] : histogram) {
    seen += count;
    if (seen >= rank) return duration;
  }
  return histogram.back().first;
}

// Folds the histogram rows of each (name, bucket) into one BucketRow.
class BucketFolder {
 public:
  explicit BucketFolder(const std::function<bool(const BucketRow&)>& sink) : sink_(sink) {}

  // Returns false once the sink wants no more.
  bool add(const SQLite::Statement& query) {
    const std::int64_t bucket = query.getColumn(1).getInt64();
    const auto name = query.getColumn(0);
    const std::string_view step(name.getText(), static_cast<std::size_t>(name.getBytes()));
    if (open_ && (bucket != row_.bucket || step != row_.figures.step)) {
      if (!flush()) return false;
    }
    TrendBucket& figures = row_.figures;
    const int first = query.getColumn(12).getInt();
    const int last = query.getColumn(13).getInt();
    const std::int64_t start = query.getColumn(14).getInt64();
    const std::int64_t end = query.getColumn(15).getInt64();
    if (!open_) {
      open_ = true;
      row_.bucket = bucket;
      figures = TrendBucket{};
      figures.step = std::string(step);
      figures.first_number = first;
      figures.last_number = last;
      figures.start = start;
      figures.end = end;
      histogram_.clear();
    }
    figures.first_number = std::min(figures.first_number, first);
    figures.last_number = std::max(figures.last_number, last);
    figures.start = std::min(figures.start, start);
    figures.end = std::max(figures.end, end);
    const std::int64_t runs = query.getColumn(3).getInt64();
    figures.runs += runs;
    figures.running += runs - query.getColumn(4).getInt64();
    for (std::size_t code = 0; code < figures.results.size(); ++code) {
      figures.results[code] += query.getColumn(5 + static_cast<int>(code)).getInt64();
    }
    if (!query.isColumnNull(2)) histogram_.emplace_back(query.getColumn(2).getInt64(), runs);
    return true;
  }

  bool flush() {
    if (!open_) return true;
    open_ = false;
    std::int64_t finished = 0;
    for (const auto& entry : histogram_) finished += entry.second;
    if (finished > 0) {
      row_.figures.duration = DurationFigures{nearest_rank(histogram_, finished, 50),
                                              nearest_rank(histogram_, finished, 90),
                                              histogram_.back().first};
    }
    return sink_(row_);
  }

 private:
  const std::function<bool(const BucketRow&)>& sink_;
  BucketRow row_;
  bool open_ = false;
  // The open bucket's finished durations, increasing, with their counts: as long as
  // the bucket has distinct durations.
  std::vector<std::pair<std::int64_t, std::int64_t>> histogram_;
};

void bind_range(SQLite::Statement& query, const BuildRange& range) {
  query.bind(1, static_cast<std::int64_t>(range.builder_id));
  query.bind(2, static_cast<std::int64_t>(range.since));
  query.bind(3, static_cast<std::int64_t>(range.until));
}

void bind_rule(SQLite::Statement& query, const BucketRule& rule) {
  query.bind(4, static_cast<std::int64_t>(rule.width));
  query.bind(5, static_cast<std::int64_t>(rule.offset));
  query.bind(6, rule.builds > 0 ? rule.builds : 1);
}

void stream_buckets(SQLite::Statement& query, const std::function<bool(const BucketRow&)>& sink) {
  BucketFolder folder(sink);
  while (query.executeStep()) {
    if (!folder.add(query)) return;
  }
  folder.flush();
}

}  // namespace

void read_build_buckets(Connection& connection, const BuildRange& range, const BucketRule& rule,
                        const std::function<bool(const BucketRow&)>& sink) {
  guard_sql("read the trends of builder " + std::to_string(range.builder_id), [&] {
    auto& query = connection.statement(BUILDHIST_BUCKET_HISTOGRAM(
        "SELECT '' AS name, " BUILDHIST_BUCKET("started_at", "number") " AS bucket, number, "
        "started_at, complete_at - started_at AS d, results FROM build "
        "WHERE builder_id = ?1 AND started_at >= ?2 AND started_at < ?3"));
    bind_range(query, range);
    bind_rule(query, rule);
    stream_buckets(query, sink);
  });
}

void read_step_buckets(Connection& connection, const BuildRange& range, const BucketRule& rule,
                       const std::optional<std::string>& step,
                       const std::function<bool(const BucketRow&)>& sink) {
  guard_sql("read the step trends of builder " + std::to_string(range.builder_id), [&] {
    auto& query = connection.statement(BUILDHIST_BUCKET_HISTOGRAM(
        "SELECT s.name AS name, " BUILDHIST_BUCKET("b.started_at", "b.number") " AS bucket, "
        "b.number AS number, b.started_at AS started_at, s.complete_at - s.started_at AS d, "
        "s.results AS results FROM build b JOIN step s ON s.build_id = b.id "
        "WHERE b.builder_id = ?1 AND b.started_at >= ?2 AND b.started_at < ?3 "
        "AND (?7 IS NULL OR s.name = ?7)"));
    bind_range(query, range);
    bind_rule(query, rule);
    if (step) {
      query.bind(7, *step);
    } else {
      query.bind(7);
    }
    stream_buckets(query, sink);
  });
}

void read_step_runs(Connection& connection, const BuildRange& range,
                    const std::function<void(const StepRun&)>& sink) {
  guard_sql("read the step runs of builder " + std::to_string(range.builder_id), [&] {
    // The (builder_id, number) index gives the builds in order; each build's steps
    // come from the (build_id, number) index.
    auto& query = connection.statement(
        "SELECT b.number, s.name, s.results FROM build b JOIN step s ON s.build_id = b.id "
        "WHERE b.builder_id = ?1 AND b.started_at >= ?2 AND b.started_at < ?3 "
        "AND s.results IN (0, 1, 2, 4) ORDER BY b.number");
    bind_range(query, range);
    StepRun run;
    while (query.executeStep()) {
      run.number = query.getColumn(0).getInt();
      const auto name = query.getColumn(1);
      run.step = std::string_view(name.getText(), static_cast<std::size_t>(name.getBytes()));
      run.results = results_from_code(query.getColumn(2).getInt());
      sink(run);
    }
  });
}

void read_keyed_runs(Connection& connection, const BuildRange& range, std::string_view key,
                     const std::function<void(const StepRun&)>& sink) {
  guard_sql("read the step runs by " + std::string(key) + " of builder " +
                std::to_string(range.builder_id),
            [&] {
    // Only the values repeated within the builder's builds can hold both a failed and
    // a passed run of a step: the steps of the other builds are never read.
    auto& query = connection.statement(
        "WITH keyed AS (SELECT b.id AS build_id, b.number AS number, p.value AS value "
        "FROM build b JOIN build_property p ON p.build_id = b.id AND p.name = ?4 "
        "WHERE b.builder_id = ?1 AND b.started_at >= ?2 AND b.started_at < ?3), "
        "repeated AS (SELECT value FROM keyed GROUP BY value HAVING count(*) > 1) "
        "SELECT k.number, s.name, s.results, k.value FROM keyed k "
        "JOIN repeated r ON r.value = k.value JOIN step s ON s.build_id = k.build_id "
        "WHERE s.results IN (0, 1, 2, 4) ORDER BY k.value, k.number, s.name");
    bind_range(query, range);
    query.bind(4, std::string(key));
    StepRun run;
    while (query.executeStep()) {
      run.number = query.getColumn(0).getInt();
      const auto name = query.getColumn(1);
      run.step = std::string_view(name.getText(), static_cast<std::size_t>(name.getBytes()));
      run.results = results_from_code(query.getColumn(2).getInt());
      const auto value = query.getColumn(3);
      run.key_value = std::string_view(value.getText(), static_cast<std::size_t>(value.getBytes()));
      sink(run);
    }
  });
}

}  // namespace buildhist::internal
