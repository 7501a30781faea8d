// Fuzz target: grep's pattern front end, GrepMatcher (src/query/grep_matcher.h).
//
// The input: a byte of flags (bit 0 fixed text, bit 1 -i, bit 2 -w), the pattern
// up to the first NUL, and the text searched after it.
// Invariants:
//   - any pattern compiles or is refused with Error(kInvalidArgument) in one
//     printable line, within libFuzzer's timeout; with -w it is refused exactly
//     when it is refused without (-w wraps the pattern and must not change its
//     syntax: "a)|(b" must not become valid);
//   - next_line, run over the whole text from line to line, finds exactly the
//     lines that match when each is searched alone, in order: the search of the
//     whole buffer at once skips no matching line and reports only whole lines;
//   - a fixed pattern finds the lines std::string_view::find finds it in, through
//     the memmem fast path and through RE2 (the same text quoted as a regex), and
//     with -i the lines an ASCII case-folding find does, for ASCII text.
#include <re2/re2.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "query/grep_matcher.h"

using buildhist::ErrorCode;
using buildhist::GrepQuery;
using buildhist::fuzz::check;
using buildhist::internal::GrepMatcher;

namespace {

struct Line {
  std::size_t start = 0;
  std::size_t end = 0;  // its newline's offset, or the text's end
  bool operator==(const Line&) const = default;
};

// The lines of `text`: ended by '\n', the last one maybe not; none in "".
std::vector<Line> lines_of(std::string_view text) {
  std::vector<Line> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t newline = text.find('\n', start);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    lines.push_back({start, end});
    start = end + 1;
  }
  return lines;
}

std::unique_ptr<GrepMatcher> compiled(const GrepQuery& query) {
  std::unique_ptr<GrepMatcher> matcher;
  buildhist::fuzz::refused_cleanly_or_ran(
      ErrorCode::kInvalidArgument, [&] { matcher = std::make_unique<GrepMatcher>(query); });
  return matcher;
}

// The lines next_line finds, one after the other from the text's start, as grep
// asks for them; checks that each is a whole line after the one before.
std::vector<Line> found_lines(const GrepMatcher& matcher, std::string_view text) {
  std::vector<Line> found;
  std::size_t from = 0;
  Line line;
  while (from <= text.size() && matcher.next_line(text, from, line.start, line.end)) {
    check(line.start >= from && line.start <= line.end && line.end <= text.size(),
          "next_line returned a line before `from` or outside the text");
    check(line.start == 0 || text[line.start - 1] == '\n', "a found line starts mid-line");
    check(line.end == text.size() || text[line.end] == '\n', "a found line ends mid-line");
    found.push_back(line);
    from = line.end + 1;
  }
  return found;
}

template <typename Matches>
std::vector<Line> lines_where(std::string_view text, Matches&& matches) {
  std::vector<Line> lines = lines_of(text);
  std::erase_if(lines, [&](const Line& line) {
    return !matches(text.substr(line.start, line.end - line.start));
  });
  return lines;
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  buildhist::fuzz::InputReader input(data, size);
  const std::uint8_t flags = input.byte();
  GrepQuery query;
  query.syntax = flags & 1 ? GrepQuery::Syntax::kFixed : GrepQuery::Syntax::kRegex;
  query.ignore_case = (flags & 2) != 0;
  query.word = (flags & 4) != 0;
  query.pattern = std::string(input.until('\0'));
  const std::string_view text = input.rest();

  const std::unique_ptr<GrepMatcher> matcher = compiled(query);
  if (query.word) {
    GrepQuery without_word = query;
    without_word.word = false;
    check((matcher != nullptr) == (compiled(without_word) != nullptr),
          "-w changed whether the pattern is refused");
  }
  if (!matcher) return 0;

  const std::vector<Line> found = found_lines(*matcher, text);
  check(found == lines_where(text,
                             [&](std::string_view line) {
                               // With its newline: "" alone is a text without lines.
                               const std::string alone = std::string(line) + '\n';
                               Line only;
                               return matcher->next_line(alone, 0, only.start, only.end);
                             }),
        "the whole-text search and the line-by-line search found different lines");

  if (query.syntax != GrepQuery::Syntax::kFixed || query.word) return 0;
  if (!query.ignore_case) {
    const std::vector<Line> expected = lines_where(text, [&](std::string_view line) {
      return line.find(query.pattern) != std::string_view::npos;
    });
    check(found == expected, "a fixed pattern's lines are not the lines find finds it in");
    GrepQuery quoted = query;
    quoted.syntax = GrepQuery::Syntax::kRegex;
    quoted.pattern = RE2::QuoteMeta(query.pattern);
    check(found_lines(GrepMatcher(quoted), text) == expected,
          "a fixed pattern quoted as a regex finds other lines than find");
  } else if (is_ascii(query.pattern) && is_ascii(text)) {
    const std::string pattern = ascii_lower(query.pattern);
    check(found == lines_where(text,
                               [&](std::string_view line) {
                                 return ascii_lower(line).find(pattern) != std::string::npos;
                               }),
          "a fixed pattern with -i finds other lines than a case-folding find");
  }
  return 0;
}
