// buildhist: what a history says as figures. Trends (durations, results and failure
// rates per period or per run of builds) and flaky steps (steps that both failed and
// passed on one revision, or whose result keeps flipping).
//
// Both are answered by SQL aggregates walking the build_started and (builder_id,
// number) indexes, and streamed: memory grows with the number of series (builders
// times step names), never with the number of builds. History::trends and
// History::flaky are declared in history.h.
#ifndef BUILDHIST_TRENDS_H_
#define BUILDHIST_TRENDS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/results.h"

namespace buildhist {

// How builds are grouped. Time buckets are aligned on UTC: hours, days, and weeks
// starting on Monday 00:00. A bucket of N builds holds the builds numbered
// (k-1)*N+1 .. k*N.
struct Bucketing {
  enum class Kind { kHour, kDay, kWeek, kBuilds };
  Kind kind = Kind::kDay;
  int builds = 0;  // kBuilds only: N >= 1
};

// "hour", "day", "week" or a whole number N >= 1; Error(kInvalidArgument) otherwise.
Bucketing parse_bucketing(std::string_view text);

struct TrendQuery {
  std::vector<std::string> builders;  // empty: every builder, by name
  std::optional<std::int64_t> since;  // builds started at or after this time
  std::optional<std::int64_t> until;  // builds started before this time
  Bucketing bucket;
  std::optional<std::string> step;    // only this step's series (and the builds')
};

// p50, p90 (nearest rank: the smallest duration with at least that share of the
// bucket's durations at or below it) and max, in seconds, of finished runs.
struct DurationFigures {
  std::int64_t p50 = 0;
  std::int64_t p90 = 0;
  std::int64_t max = 0;
};

// One bucket of one series: a builder's builds (step empty), or one of its steps
// (each step run counted in the bucket of its build).
struct TrendBucket {
  std::string builder;
  std::string step;           // empty: the builds themselves
  std::int64_t start = 0;     // time buckets: the bucket's first second;
  std::int64_t end = 0;       //   its end (exclusive). kBuilds: first and last start time
  bool of_builds = false;     // a bucket of N builds
  int first_number = 0;       // the lowest and highest build numbers in the bucket
  int last_number = 0;
  std::int64_t runs = 0;      // builds (or step runs), running ones included
  std::int64_t running = 0;   // not finished: no results, no duration
  std::array<std::int64_t, 7> results{};  // finished runs by Results code
  // (failure + exception) / finished runs; 0 when none finished.
  double failure_rate = 0;
  std::optional<DurationFigures> duration;  // nullopt when no run finished
  // Against the previous bucket of the same series (nullopt for the first, or when
  // either lacks a duration): p50 / previous p50 - 1, and the failure rate's
  // difference (in rate, not percent points).
  std::optional<double> p50_change;
  std::optional<double> failure_rate_change;
};

struct FlakyQuery {
  std::vector<std::string> builders;  // empty: every builder
  std::optional<std::int64_t> since;
  std::optional<std::int64_t> until;
  std::string key = "got_revision";   // the property whose equal values are one revision
  double min_flip_rate = 0.2;         // in [0, 1]
  int evidence = 10;                  // at most this many references per step, >= 1
};

// A step run that is evidence: BUILDER/NUMBER/STEP (the step by name).
struct FlakyEvidence {
  std::string reference;
  Results results = Results::kSuccess;
  std::string key_value;  // the key property's JSON value; empty for a flip
  enum class Kind { kSameKey, kFlip } kind = Kind::kFlip;
};

// A step found flaky: it both failed and passed on one key value (same_key_values >
// 0), or its flip rate is at least the query's minimum. A run passes with success or
// warnings and fails with failure or exception; other results are left out.
struct FlakyStep {
  std::string builder;
  std::string step;
  std::int64_t runs = 0;      // runs that passed or failed
  std::int64_t failures = 0;
  std::int64_t flips = 0;     // consecutive runs (by build number) with different outcomes
  double flip_rate = 0;       // flips / (runs - 1); 0 with fewer than two runs
  std::int64_t same_key_values = 0;  // key values with both a failed and a passed run
  std::vector<FlakyEvidence> evidence;  // same-key runs first, then the latest flips
};

}  // namespace buildhist

#endif  // BUILDHIST_TRENDS_H_
