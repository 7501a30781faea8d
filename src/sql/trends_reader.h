// The SQL of trends and flaky steps (History::trends, History::flaky): one
// builder's builds walked on the build_started or (builder_id, number) index in
// bucket order and folded into buckets here, or (flaky) each build's passed and
// failed steps read from build.step_outcomes, a row per build. Each function runs
// one statement, whatever the number of builds (read_step_buckets a second one
// when it would hold too many buckets).
#ifndef BUILDHIST_SQL_TRENDS_READER_H_
#define BUILDHIST_SQL_TRENDS_READER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "buildhist/trends.h"

namespace buildhist::internal {

class Connection;

// Builds started in [since, until) of one builder.
struct BuildRange {
  std::int64_t builder_id = 0;
  std::int64_t since = 0;
  std::int64_t until = 0;
};

// A bucket is floor((started_at - offset) / width) when width > 0, else
// (number - 1) / builds. REQUIRES: width > 0 or builds > 0.
struct BucketRule {
  std::int64_t width = 0;
  std::int64_t offset = 0;
  int builds = 0;
};

// One bucket's figures as SQL gives them: `bucket` is the bucket's index under the
// rule, `step` empty for the builds; start and end are the bucket's first and last
// start times, changes unset, builder unset.
struct BucketRow {
  std::int64_t bucket = 0;
  TrendBucket figures;
};

// The builds' buckets in bucket order.
void read_build_buckets(Connection& connection, const BuildRange& range, const BucketRule& rule,
                        const std::function<bool(const BucketRow&)>& sink);

// The steps' buckets (a step run in its build's bucket), by step name then bucket;
// with `step`, that step's only.
void read_step_buckets(Connection& connection, const BuildRange& range, const BucketRule& rule,
                       const std::optional<std::string>& step,
                       const std::function<bool(const BucketRow&)>& sink);

// A step run that passed (success, warnings) or failed (failure, exception).
struct StepRun {
  int number = 0;  // its build's
  std::string_view step;
  Results results = Results::kSuccess;
  std::string_view key_value;  // read_keyed_runs only
};

// The builder's step runs that passed or failed, by build number.
void read_step_runs(Connection& connection, const BuildRange& range,
                    const std::function<void(const StepRun&)>& sink);

// Every builder's step runs that passed or failed, with the builder's id, in the
// order the builds were written (for most stores, each builder's by build number;
// the caller checks).
void read_every_step_run(Connection& connection, std::int64_t since, std::int64_t until,
                         const std::function<void(std::int64_t, const StepRun&)>& sink);

// The step runs of builds whose property `key` has a value that more than one of
// the builder's builds in the range has: by value, then build number, then step.
void read_keyed_runs(Connection& connection, const BuildRange& range, std::string_view key,
                     const std::function<void(const StepRun&)>& sink);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_TRENDS_READER_H_
