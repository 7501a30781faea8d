// One run of History::grep: the scanned chunks of each log in turn (their matching
// lines found already, query/grep_chunk.h), with context, counts, max-count and
// the per-builder pick.
//
// Invariants: lines reach the sink in log order, each at most once
// (printed_through_ only grows within a log); a separator goes only between two
// lines that are not neighbours of one log; the before-context kept from earlier
// chunks is at most `before` lines.
#ifndef BUILDHIST_QUERY_GREP_SEARCH_H_
#define BUILDHIST_QUERY_GREP_SEARCH_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "buildhist/grep.h"
#include "query/grep_chunk.h"

namespace buildhist::internal {

class GrepSearch {
 public:
  using Sink = std::function<bool(const GrepEvent&)>;

  // Borrows both for its lifetime. `builders` is how many builders the query
  // covers (for Pick: the search ends once each has its build).
  GrepSearch(const GrepQuery& query, const Sink& sink, std::int64_t builders);

  // Whether `log` is to be searched, as far as what was found so far tells: false
  // when the search is over, or (Pick) when its builder has another build picked.
  // Logs come in the query's order, so a log asked about before the ones ahead of
  // it were searched may be wanted and later not: ask again before begin_log().
  bool wants(const GrepLog& log) const;
  // Whether no log from `log` on can be wanted (Pick: every builder has its build,
  // and `log` is of none of them); the caller stops reading logs.
  bool past_every_pick(const GrepLog& log) const;
  // Starts a log wants() accepted; then its chunks in line order.
  void begin_log(std::int64_t log_id, const GrepLog& log);
  // Returns false when the rest of the log is not needed.
  bool chunk(const ScannedChunk& chunk);
  void end_log();

  bool done() const noexcept { return done_; }
  const GrepSummary& summary() const noexcept { return summary_; }

 private:
  struct Kept {
    std::int64_t number;
    std::string text;
    char stream;
  };

  void emit_line(std::int64_t number, std::string_view text, char stream, bool match);
  void emit(const GrepEvent& event);
  bool on_match();  // counts one; false when the log is finished with
  void keep_tail(const ScannedChunk& chunk);
  bool limit_reached() const noexcept;

  const GrepQuery& query_;
  const Sink& sink_;
  const std::int64_t builders_;
  const bool context_;

  GrepSummary summary_;
  bool done_ = false;
  // Pick: each builder's chosen build, once it has one.
  std::unordered_map<std::string, int> picked_;

  // The log being scanned.
  const GrepLog* log_ = nullptr;
  std::int64_t log_id_ = 0;
  std::int64_t log_matches_ = 0;
  std::int64_t printed_through_ = -1;  // the last line of this log given to the sink
  std::int64_t after_left_ = 0;
  std::deque<Kept> kept_;  // the last `before` lines of earlier chunks
  bool stopping_ = false;  // max-count reached: only trailing context still goes out

  // Across logs, for separators.
  bool emitted_any_ = false;
  std::int64_t emitted_log_ = 0;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_QUERY_GREP_SEARCH_H_
