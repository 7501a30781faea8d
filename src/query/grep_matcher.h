// grep's pattern, compiled once: finds the lines of a buffer that match.
#ifndef BUILDHIST_QUERY_GREP_MATCHER_H_
#define BUILDHIST_QUERY_GREP_MATCHER_H_

#include <memory>
#include <string>
#include <string_view>

#include "buildhist/grep.h"

namespace re2 {
class RE2;
}

namespace buildhist::internal {

class GrepMatcher {
 public:
  // Throws Error(kInvalidArgument), one line with the pattern quoted, for a
  // pattern RE2 refuses or one holding a newline.
  explicit GrepMatcher(const GrepQuery& query);
  ~GrepMatcher();

  // The first line of `text` (lines ended by '\n', the last one maybe not) at or
  // after offset `from` (a line's start) that matches: its start and its end (the
  // newline's offset, or text.size()). Returns false when no line from `from` does.
  // Thread-safe: RE2 matches from many threads at once.
  bool next_line(std::string_view text, std::size_t from, std::size_t& start,
                 std::size_t& end) const;

  // Whether the pattern is a literal (no newline in it), searched with memmem: a
  // match is then a substring, whatever bytes are around it.
  bool is_literal() const noexcept { return !literal_.empty(); }

 private:
  bool line_matches(std::string_view line) const;

  std::string literal_;              // the memmem fast path, when set
  std::unique_ptr<re2::RE2> whole_;  // over many lines at once: finds candidates
                                     // (null: the pattern is tried line by line)
  std::unique_ptr<re2::RE2> line_;   // over one line: the truth
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_QUERY_GREP_MATCHER_H_
