#include "sql/trends_reader.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "buildhist/error.h"
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

// p50, p90 and max of a histogram in increasing duration order; nullopt when it
// counts no run.
std::optional<DurationFigures> duration_figures(
    const std::vector<std::pair<std::int64_t, std::int64_t>>& histogram) {
  std::int64_t finished = 0;
  for (const auto& entry : histogram) finished += entry.second;
  if (finished == 0) return std::nullopt;
  return DurationFigures{nearest_rank(histogram, finished, 50),
                         nearest_rank(histogram, finished, 90), histogram.back().first};
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
    if (auto figures = duration_figures(histogram_)) row_.figures.duration = figures;
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


// The columns the walks select from `first` on: number, started_at, the duration
// and results (both nullable).
struct RunColumns {
  int number = 0;
  std::int64_t started_at = 0;
  std::optional<std::int64_t> duration;
  std::optional<int> results;
};

RunColumns run_columns(const SQLite::Statement& query, int first) {
  RunColumns run;
  run.number = query.getColumn(first).getInt();
  run.started_at = query.getColumn(first + 1).getInt64();
  if (!query.isColumnNull(first + 2)) run.duration = query.getColumn(first + 2).getInt64();
  if (!query.isColumnNull(first + 3)) run.results = query.getColumn(first + 3).getInt();
  return run;
}

// BUILDHIST_BUCKET in C++: floor division for time buckets.
std::int64_t bucket_of(const BucketRule& rule, std::int64_t started_at, int number) {
  if (rule.width > 0) {
    const std::int64_t shifted = started_at - rule.offset;
    std::int64_t bucket = shifted / rule.width;
    if (shifted % rule.width != 0 && shifted < 0) --bucket;
    return bucket;
  }
  return (static_cast<std::int64_t>(number) - 1) / (rule.builds > 0 ? rule.builds : 1);
}

// A bucket's finished durations with their counts, in bounded memory: durations
// are gathered, then sorted and merged into distinct (duration, count) pairs each
// kPending of them, so it holds the distinct durations and at most kPending more.
class Histogram {
 public:
  void add(std::int64_t duration) {
    pending_.push_back(duration);
    if (pending_.size() >= kPending) merge();
  }
  // The pairs in increasing duration; empties the histogram.
  std::vector<std::pair<std::int64_t, std::int64_t>>& sorted() {
    merge();
    return counts_;
  }
  void clear() {
    pending_.clear();
    counts_.clear();
  }

 private:
  static constexpr std::size_t kPending = 4096;

  void merge() {
    if (pending_.empty()) return;
    std::sort(pending_.begin(), pending_.end());
    merged_.clear();
    auto old = counts_.begin();
    std::size_t next = 0;
    const auto push = [&](std::int64_t duration, std::int64_t count) {
      if (!merged_.empty() && merged_.back().first == duration) {
        merged_.back().second += count;
      } else {
        merged_.emplace_back(duration, count);
      }
    };
    while (old != counts_.end() || next < pending_.size()) {
      if (next == pending_.size() || (old != counts_.end() && old->first <= pending_[next])) {
        push(old->first, old->second);
        ++old;
      } else {
        push(pending_[next], 1);
        ++next;
      }
    }
    counts_.swap(merged_);
    pending_.clear();
  }

  std::vector<std::int64_t> pending_;
  std::vector<std::pair<std::int64_t, std::int64_t>> counts_;
  std::vector<std::pair<std::int64_t, std::int64_t>> merged_;
};

// One series' bucket while its runs are read, the rows of one bucket arriving
// together.
class OpenBucket {
 public:
  bool is_open() const noexcept { return open_; }
  std::int64_t bucket() const noexcept { return row_.bucket; }

  void add(std::int64_t bucket, std::string_view step, const RunColumns& run) {
    TrendBucket& figures = row_.figures;
    if (!open_) {
      open_ = true;
      row_.bucket = bucket;
      figures = TrendBucket{};
      figures.step = std::string(step);
      figures.first_number = figures.last_number = run.number;
      figures.start = figures.end = run.started_at;
      durations_.clear();
    }
    figures.first_number = std::min(figures.first_number, run.number);
    figures.last_number = std::max(figures.last_number, run.number);
    figures.start = std::min(figures.start, run.started_at);
    figures.end = std::max(figures.end, run.started_at);
    ++figures.runs;
    if (run.results && *run.results >= 0 &&
        *run.results < static_cast<int>(figures.results.size())) {
      ++figures.results[static_cast<std::size_t>(*run.results)];
    } else {
      ++figures.running;
    }
    if (run.duration) durations_.add(*run.duration);
  }

  // The bucket's figures; the bucket is closed.
  const BucketRow& close() {
    open_ = false;
    if (auto figures = duration_figures(durations_.sorted())) row_.figures.duration = figures;
    return row_;
  }

 private:
  BucketRow row_;
  bool open_ = false;
  Histogram durations_;
};

// Bucket rows held at most by a walk of steps (each a TrendBucket, ~200 bytes).
constexpr std::size_t kMaxHeldBuckets = 1 << 16;

// Every step series of one builder, while its builds are walked in bucket order.
class StepSeries {
 public:
  // False once more than kMaxHeldBuckets closed buckets would be held.
  bool add(std::int64_t bucket, std::string_view name, const RunColumns& run) {
    if (!started_ || run.number != number_) {
      number_ = run.number;
      position_ = 0;
      started_ = true;
    }
    // A build's steps mostly come in the order of the build before's.
    std::size_t index = 0;
    if (position_ < previous_.size() && series_[previous_[position_]].name == name) {
      index = previous_[position_];
    } else {
      auto found = by_name_.find(name);
      if (found == by_name_.end()) {
        found = by_name_.emplace(std::string(name), series_.size()).first;
        series_.push_back(Series{std::string(name), {}, {}});
      }
      index = found->second;
      if (position_ < previous_.size()) {
        previous_[position_] = index;
      } else {
        previous_.push_back(index);
      }
    }
    ++position_;
    Series& series = series_[index];
    if (series.open.is_open() && series.open.bucket() != bucket) {
      series.closed.push_back(series.open.close());
      if (++held_ > kMaxHeldBuckets) return false;
    }
    series.open.add(bucket, series.name, run);
    return true;
  }

  // Every series' buckets by step name, then bucket.
  void hand_over(const std::function<bool(const BucketRow&)>& sink) {
    for (const auto& [name, index] : by_name_) {
      Series& series = series_[index];
      for (const BucketRow& row : series.closed) {
        if (!sink(row)) return;
      }
      if (series.open.is_open() && !sink(series.open.close())) return;
    }
  }

 private:
  struct Series {
    std::string name;
    OpenBucket open;
    std::vector<BucketRow> closed;
  };
  std::vector<Series> series_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
  std::vector<std::size_t> previous_;  // the series of each position in the build before
  int number_ = 0;
  std::size_t position_ = 0;
  bool started_ = false;
  std::size_t held_ = 0;
};

// The step series as SQL histograms grouped by (name, bucket, duration): sorted by
// SQLite, in bounded memory whatever the number of buckets.
void read_step_histogram(Connection& connection, const BuildRange& range, const BucketRule& rule,
                         const std::optional<std::string>& step,
                         const std::function<bool(const BucketRow&)>& sink) {
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
}


std::string_view outcomes_of(const SQLite::Column& column) {
  return std::string_view(column.getText(), static_cast<std::size_t>(column.getBytes()));
}

// Hands each entry of a build's step_outcomes to `sink` as `run`'s step and results.
void for_each_outcome(std::string_view outcomes, StepRun& run,
                      const std::function<void(const StepRun&)>& sink) {
  std::size_t at = 0;
  while (at < outcomes.size()) {
    const char code = outcomes[at++];
    std::size_t length = 0;
    bool digits = false;
    while (at < outcomes.size() && outcomes[at] >= '0' && outcomes[at] <= '9') {
      length = length * 10 + static_cast<std::size_t>(outcomes[at++] - '0');
      digits = true;
    }
    if ((code != '0' && code != '1' && code != '2' && code != '4') || !digits ||
        at >= outcomes.size() || outcomes[at] != ':' || outcomes.size() - at - 1 < length) {
      throw Error(ErrorCode::kCorrupt,
                  "build #" + std::to_string(run.number) + " has malformed step_outcomes");
    }
    ++at;
    run.step = outcomes.substr(at, length);
    run.results = results_from_code(code - '0');
    at += length;
    sink(run);
  }
}

}  // namespace

void read_build_buckets(Connection& connection, const BuildRange& range, const BucketRule& rule,
                        const std::function<bool(const BucketRow&)>& sink) {
  guard_sql("read the trends of builder " + std::to_string(range.builder_id), [&] {
    // In bucket order off the index (build_started for time buckets, (builder_id,
    // number) for buckets of builds), folded here: no sort.
    auto& query = connection.statement(
        rule.width > 0
            ? "SELECT number, started_at, complete_at - started_at, results FROM build "
              "WHERE builder_id = ?1 AND started_at >= ?2 AND started_at < ?3 ORDER BY started_at"
            : "SELECT number, started_at, complete_at - started_at, results FROM build "
              "WHERE builder_id = ?1 AND started_at >= ?2 AND started_at < ?3 ORDER BY number");
    bind_range(query, range);
    OpenBucket open;
    while (query.executeStep()) {
      const RunColumns run = run_columns(query, 0);
      const std::int64_t bucket = bucket_of(rule, run.started_at, run.number);
      if (open.is_open() && open.bucket() != bucket && !sink(open.close())) return;
      open.add(bucket, std::string_view(), run);
    }
    if (open.is_open()) sink(open.close());
  });
}

void read_step_buckets(Connection& connection, const BuildRange& range, const BucketRule& rule,
                       const std::optional<std::string>& step,
                       const std::function<bool(const BucketRow&)>& sink) {
  guard_sql("read the step trends of builder " + std::to_string(range.builder_id), [&] {
    // The builder's builds in bucket order, each with its steps: every step series
    // has its open bucket here, and its closed buckets are kept until the walk ends
    // (they are handed over by name). Past kMaxHeldBuckets held (buckets of very
    // few builds), the SQL histogram below gives the same rows, sorted by SQLite
    // in bounded memory.
    auto& query = connection.statement(
        rule.width > 0
            ? "SELECT b.number, b.started_at, s.complete_at - s.started_at, s.results, s.name "
              "FROM build b JOIN step s ON s.build_id = b.id "
              "WHERE b.builder_id = ?1 AND b.started_at >= ?2 AND b.started_at < ?3 "
              "AND (?4 IS NULL OR s.name = ?4) ORDER BY b.started_at"
            : "SELECT b.number, b.started_at, s.complete_at - s.started_at, s.results, s.name "
              "FROM build b JOIN step s ON s.build_id = b.id "
              "WHERE b.builder_id = ?1 AND b.started_at >= ?2 AND b.started_at < ?3 "
              "AND (?4 IS NULL OR s.name = ?4) ORDER BY b.number");
    bind_range(query, range);
    if (step) {
      query.bind(4, *step);
    } else {
      query.bind(4);
    }
    StepSeries series;
    bool held_all = true;
    while (query.executeStep()) {
      const RunColumns run = run_columns(query, 0);
      const auto name = query.getColumn(4);
      const std::string_view text(name.getText(), static_cast<std::size_t>(name.getBytes()));
      if (!series.add(bucket_of(rule, run.started_at, run.number), text, run)) {
        held_all = false;
        break;
      }
    }
    query.reset();
    if (held_all) {
      series.hand_over(sink);
      return;
    }
    read_step_histogram(connection, range, rule, step, sink);
  });
}

void read_step_runs(Connection& connection, const BuildRange& range,
                    const std::function<void(const StepRun&)>& sink) {
  guard_sql("read the step runs of builder " + std::to_string(range.builder_id), [&] {
    // A row per build, on the (builder_id, number) index: its runs that passed or
    // failed are in step_outcomes (migration 0004), not a row each.
    auto& query = connection.statement(
        "SELECT number, step_outcomes FROM build "
        "WHERE builder_id = ?1 AND started_at >= ?2 AND started_at < ?3 ORDER BY number");
    bind_range(query, range);
    StepRun run;
    while (query.executeStep()) {
      run.number = query.getColumn(0).getInt();
      const auto outcomes = query.getColumn(1);
      for_each_outcome(outcomes_of(outcomes), run, sink);
    }
  });
}

void read_every_step_run(Connection& connection, std::int64_t since, std::int64_t until,
                         const std::function<void(std::int64_t, const StepRun&)>& sink) {
  guard_sql("read the step runs of every builder", [&] {
    // The table in row order: each page once, however many builders share it.
    auto& query = connection.statement(
        "SELECT builder_id, number, step_outcomes FROM build "
        "WHERE started_at >= ?1 AND started_at < ?2 ORDER BY id");
    query.bind(1, static_cast<std::int64_t>(since));
    query.bind(2, static_cast<std::int64_t>(until));
    StepRun run;
    std::int64_t builder_id = 0;
    const auto forward = [&](const StepRun& each) { sink(builder_id, each); };
    while (query.executeStep()) {
      builder_id = query.getColumn(0).getInt64();
      run.number = query.getColumn(1).getInt();
      for_each_outcome(outcomes_of(query.getColumn(2)), run, forward);
    }
  });
}

void read_keyed_runs(Connection& connection, const BuildRange& range, std::string_view key,
                     const std::function<void(const StepRun&)>& sink) {
  guard_sql("read the step runs by " + std::string(key) + " of builder " +
                std::to_string(range.builder_id),
            [&] {
    // A row per build with the key, sorted by value then number; the runs of a value
    // only one build has are never handed over. What is held is one value's builds.
    auto& query = connection.statement(
        "SELECT p.value, b.number, b.step_outcomes FROM build b "
        "JOIN build_property p ON p.build_id = b.id AND p.name = ?4 "
        "WHERE b.builder_id = ?1 AND b.started_at >= ?2 AND b.started_at < ?3 "
        "ORDER BY p.value, b.number");
    bind_range(query, range);
    query.bind(4, std::string(key));
    std::string value;
    std::vector<std::pair<int, std::string>> builds;  // the value's, by number
    const auto hand_over = [&] {
      if (builds.size() < 2) return;
      StepRun run;
      run.key_value = value;
      for (const auto& [number, outcomes] : builds) {
        run.number = number;
        for_each_outcome(outcomes, run, sink);
      }
    };
    while (query.executeStep()) {
      const auto column = query.getColumn(0);
      const std::string_view text(column.getText(), static_cast<std::size_t>(column.getBytes()));
      if (builds.empty() || text != value) {
        hand_over();
        builds.clear();
        value.assign(text);
      }
      builds.emplace_back(query.getColumn(1).getInt(), std::string(outcomes_of(query.getColumn(2))));
    }
    hand_over();
  });
}

}  // namespace buildhist::internal
