// buildhist: the answers of History written out, as the `buildhist` command prints
// them: aligned text for people, or JSON for scripts (lists as JSON Lines, one
// object a line, written as the rows are read; a single object otherwise). The
// command is a thin shell over this; a master can send the same reports anywhere.
//
// Fields and formats are the contract in CLI.md. Times in text are ISO 8601 UTC,
// in JSON epoch seconds. Thread-safety: one Report per thread. Errors: what History
// throws; an output stream that fails is reported as Error(kIO).
#ifndef BUILDHIST_REPORT_H_
#define BUILDHIST_REPORT_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "buildhist/history.h"

namespace buildhist {

enum class Format { kText, kJson };

class Report {
 public:
  // Borrows `history` and `out`, which must outlive the Report.
  Report(History& history, std::ostream& out, Format format) noexcept
      : history_(history), out_(out), format_(format) {}

  void builders();
  void builds(std::string_view builder, const BuildFilter& filter);
  void show(std::string_view builder, int number);
  // Lines [from, from + limit) of the log `reference` names; with `follow`, then
  // every line appended until the log completes (limit is then ignored). Returns a
  // one-line notice for the caller's stderr, and writes nothing, when compact
  // purged the log's text (saying when); nullopt otherwise.
  std::optional<std::string> log(const Reference& reference, std::int64_t from,
                                 std::int64_t limit, bool follow);
  void find(std::string_view name, std::string_view value,
            std::optional<std::string_view> builder);
  void stats();
  // Writes the problems found (or that there are none); returns how many.
  std::size_t check();

 private:
  void finish_output();

  History& history_;
  std::ostream& out_;
  const Format format_;
};

// "2026-11-22T10:00:00Z" for epoch seconds.
std::string format_time(std::int64_t epoch_seconds);

// Epoch seconds for `text`: ISO 8601 as a date (`2026-11-22`, midnight UTC) or a
// date and time (`2026-11-22T10:00:00Z`, `...T10:00Z`, `...T10:00:00+02:00`; no
// zone means UTC), or a whole number of epoch seconds. Throws
// Error(kInvalidArgument) saying what is malformed.
std::int64_t parse_time(std::string_view text);

// Seconds for a duration: a whole number and a unit, `s`, `m`, `h`, `d` or `w`
// (`30d`). Throws Error(kInvalidArgument) saying what is malformed.
std::int64_t parse_duration(std::string_view text);

}  // namespace buildhist

#endif  // BUILDHIST_REPORT_H_
