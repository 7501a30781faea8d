// buildhist: searching log text across builds (`buildhist grep`).
//
// History::grep scans the text of the selected logs, newest builds first, chunk by
// chunk as SQLite returns them, and streams what it finds to a sink: matching
// lines, context lines and separators between groups, or one event a log for
// counts and lists. Memory is bounded by the largest chunk (a 10 MB line is one
// 10 MB chunk) and the context kept, whatever the size of the store.
//
// Patterns are RE2 syntax (close to POSIX ERE and Perl), or literal text with
// kFixed; an invalid pattern is Error(kInvalidArgument). Lines are matched one at a
// time, without their newline; in a stdio log, without their stream character.
#ifndef BUILDHIST_GREP_H_
#define BUILDHIST_GREP_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/records.h"

namespace buildhist {

class History;
enum class Format;  // report.h

struct GrepQuery {
  enum class Syntax { kRegex, kFixed };
  enum class Output { kLines, kLogs, kCounts };  // matching lines, -l, -c
  enum class Pick { kAll, kFirst, kLast };  // every build, or per builder its oldest/newest match

  std::string pattern;  // no newline
  Syntax syntax = Syntax::kRegex;
  bool ignore_case = false;
  bool word = false;  // the match must be a whole word: no word character either side
  int before = 0;     // context lines before each match
  int after = 0;      // and after
  Output output = Output::kLines;
  Pick pick = Pick::kAll;
  std::int64_t max_count = 0;  // stop after this many matching lines (or logs, for kLogs); 0: all

  std::vector<std::string> builders;   // empty: every builder
  std::optional<std::int64_t> since;   // builds started at or after
  std::optional<std::int64_t> until;   // builds started before
  std::optional<Results> results;
  std::optional<std::string> step;     // a step name
  std::optional<std::string> log;      // a log slug or name
};

// The log a match is in, with its build's fields.
struct GrepLog {
  BuildRecord build;
  std::optional<std::string> got_revision;  // the property's JSON text
  int step_number = 0;
  std::string step_name;
  std::string slug;
  LogType type = LogType::kStdio;

  // builder/number/step/slug, the step by name (by number if its name is all digits).
  std::string reference() const;
};

struct GrepEvent {
  enum class Kind { kMatch, kContext, kSeparator, kLog, kCount };
  Kind kind = Kind::kMatch;
  const GrepLog* log = nullptr;  // null for kSeparator; valid during the call only
  std::int64_t line = 0;         // kMatch, kContext: the log's line number, from 0
  std::string_view text;         // kMatch, kContext: the line without its stream character
  char stream = 0;               // its stream character in a stdio log, else 0
  std::int64_t count = 0;        // kCount: matching lines in the log
};

struct GrepSummary {
  std::int64_t matching_lines = 0;
  std::int64_t matching_logs = 0;
  std::int64_t bytes_scanned = 0;  // log text, as stored before compression
};

// Writes `buildhist grep`'s output for `query` to `out` (text or JSON Lines, as
// docs/grep.md gives them) and returns what History::grep returned. Errors: those
// of History::grep; a failing stream is Error(kIO).
GrepSummary print_grep(History& history, const GrepQuery& query, std::ostream& out,
                       Format format);

}  // namespace buildhist

#endif  // BUILDHIST_GREP_H_
