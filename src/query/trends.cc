// History::trends: one builder at a time, the builds' buckets then the steps', each
// with its change against the previous bucket of its series.
#include <limits>

#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/store.h"
#include "query/trends_scope.h"
#include "sql/trends_reader.h"

namespace buildhist {

namespace {

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kWeek = 7 * kDay;
constexpr std::int64_t kFirstMonday = 4 * kDay;  // 1970-01-05, a Monday

internal::BucketRule bucket_rule(const Bucketing& bucketing) {
  switch (bucketing.kind) {
    case Bucketing::Kind::kHour:
      return {kHour, 0, 0};
    case Bucketing::Kind::kDay:
      return {kDay, 0, 0};
    case Bucketing::Kind::kWeek:
      return {kWeek, kFirstMonday, 0};
    case Bucketing::Kind::kBuilds:
      break;
  }
  if (bucketing.builds < 1) {
    throw Error(ErrorCode::kInvalidArgument, "a bucket holds at least 1 build");
  }
  return {0, 0, bucketing.builds};
}

// Fills in what SQL does not give: the builder, a time bucket's bounds, the
// failure rate, and the changes against `previous` (the series' bucket before).
void complete(TrendBucket& bucket, std::int64_t index, const internal::BucketRule& rule,
              const TrendBucket* previous) {
  bucket.of_builds = rule.width == 0;
  if (rule.width > 0) {
    bucket.start = index * rule.width + rule.offset;
    bucket.end = bucket.start + rule.width;
  }
  const std::int64_t finished = bucket.runs - bucket.running;
  const std::int64_t failed = bucket.results[static_cast<int>(Results::kFailure)] +
                              bucket.results[static_cast<int>(Results::kException)];
  bucket.failure_rate =
      finished > 0 ? static_cast<double>(failed) / static_cast<double>(finished) : 0.0;
  bucket.p50_change.reset();
  bucket.failure_rate_change.reset();
  if (previous == nullptr) return;
  if (previous->runs > previous->running && finished > 0) {
    bucket.failure_rate_change = bucket.failure_rate - previous->failure_rate;
  }
  if (bucket.duration && previous->duration && previous->duration->p50 > 0) {
    bucket.p50_change = static_cast<double>(bucket.duration->p50) /
                            static_cast<double>(previous->duration->p50) -
                        1.0;
  }
}

}  // namespace

Bucketing parse_bucketing(std::string_view text) {
  if (text == "hour") return {Bucketing::Kind::kHour, 0};
  if (text == "day") return {Bucketing::Kind::kDay, 0};
  if (text == "week") return {Bucketing::Kind::kWeek, 0};
  int builds = 0;
  bool digits = !text.empty() && text.size() <= 9 && text[0] != '0';
  for (char c : text) {
    if (c < '0' || c > '9') digits = false;
    if (digits) builds = builds * 10 + (c - '0');
  }
  if (!digits) {
    throw Error(ErrorCode::kInvalidArgument, "malformed bucket '" + std::string(text) +
                                                 "' (expected hour, day, week or a number of "
                                                 "builds)");
  }
  return {Bucketing::Kind::kBuilds, builds};
}

void History::trends(const TrendQuery& query, const std::function<bool(const TrendBucket&)>& sink) {
  const internal::BucketRule rule = bucket_rule(query.bucket);
  if (query.step && query.step->empty()) {
    throw Error(ErrorCode::kInvalidArgument, "a step name is empty");
  }
  internal::TrendsScope scope(store_, query.builders, query.since, query.until);
  bool more = true;
  for (const auto& builder : scope.builders()) {
    TrendBucket previous;
    bool has_previous = false;
    const auto forward = [&](const internal::BucketRow& row) {
      TrendBucket bucket = row.figures;
      bucket.builder = builder.name;
      const bool same_series = has_previous && previous.step == bucket.step;
      complete(bucket, row.bucket, rule, same_series ? &previous : nullptr);
      more = sink(bucket);
      previous = std::move(bucket);
      has_previous = true;
      return more;
    };
    const internal::BuildRange range = scope.range(builder);
    internal::read_build_buckets(scope.connection(), range, rule, forward);
    if (!more) return;
    has_previous = false;
    internal::read_step_buckets(scope.connection(), range, rule, query.step, forward);
    if (!more) return;
  }
}

}  // namespace buildhist
