// buildhist: trends and flaky steps written out as `buildhist trends` and `buildhist
// flaky` print them: aligned text (times in ISO 8601 UTC) or JSON Lines, one bucket
// or one flaky step a line, written as History streams them; and trends drawn as
// SVG, or as one self-contained HTML page (inline SVG and a table, nothing loaded
// from anywhere). Fields and formats: docs/trends.md.
//
// Thread-safety: one TrendsReport per thread. Errors: what History throws; an output
// stream that fails is Error(kIO).
#ifndef BUILDHIST_TRENDS_REPORT_H_
#define BUILDHIST_TRENDS_REPORT_H_

#include <iosfwd>
#include <vector>

#include "buildhist/history.h"
#include "buildhist/report.h"
#include "buildhist/trends.h"

namespace buildhist {

class TrendsReport {
 public:
  // Borrows `history` and `out`, which must outlive the report.
  TrendsReport(History& history, std::ostream& out, Format format) noexcept
      : history_(history), out_(out), format_(format) {}

  // Writes each bucket; with `kept`, also appends it there (for a picture).
  void trends(const TrendQuery& query, std::vector<TrendBucket>* kept = nullptr);
  // Writes each flaky step; returns how many there were.
  std::size_t flaky(const FlakyQuery& query);

 private:
  History& history_;
  std::ostream& out_;
  const Format format_;
};

// The buckets as an SVG image: a panel per series (a builder's builds, or one of its
// steps), in the order given, with p50 and p90 durations as lines over failure-rate
// bars, axes labelled with dates (or build numbers) and units. Each line and bar
// carries class "p50", "p90" or "failure" and data-series "BUILDER" or
// "BUILDER/STEP". Throws Error(kIO) when `out` fails.
void write_trends_svg(const std::vector<TrendBucket>& buckets, std::ostream& out);

// One HTML page (well-formed XML as well) with that picture and a table of the
// buckets; it loads nothing. Throws Error(kIO) when `out` fails.
void write_trends_html(const std::vector<TrendBucket>& buckets, std::ostream& out);

}  // namespace buildhist

#endif  // BUILDHIST_TRENDS_REPORT_H_
