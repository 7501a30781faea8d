// Searching a whole chunk at once, not line by line, is what makes grep fast: the
// engine runs over the buffer and only a hit costs a look at its line. A match
// over the buffer may span a newline (`\s`, `[^x]` match one), so a hit is checked
// against its line alone; a line that matches alone always yields a hit at or
// before it (in multi-line mode `^`, `$` and `\b` see a newline as a line's edge),
// so the leftmost hit never skips a matching line.
#include "query/grep_matcher.h"

#include <cstring>

#include <re2/re2.h>

#include "buildhist/error.h"

namespace buildhist::internal {

namespace {

std::string regex_text(const GrepQuery& query) {
  std::string pattern =
      query.syntax == GrepQuery::Syntax::kFixed ? RE2::QuoteMeta(query.pattern) : query.pattern;
  // GNU grep's -w: no word character right before or after the match.
  if (query.word) pattern = "(?:^|[^0-9A-Za-z_])(?:" + pattern + ")(?:$|[^0-9A-Za-z_])";
  return pattern;
}

std::unique_ptr<RE2> compile(const std::string& pattern, const GrepQuery& query, bool multi_line) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(!query.ignore_case);
  options.set_encoding(RE2::Options::EncodingLatin1);  // bytes, as GNU grep in the C locale
  options.set_max_mem(64 << 20);
  // Perl syntax: ^ and $ are the text's ends unless (?m) makes them a line's.
  auto re = std::make_unique<RE2>(multi_line ? "(?m)" + pattern : pattern, options);
  if (!re->ok()) {
    throw Error(ErrorCode::kInvalidArgument,
                "bad pattern '" + query.pattern + "': " + re->error());
  }
  return re;
}

}  // namespace

GrepMatcher::GrepMatcher(const GrepQuery& query) {
  if (query.pattern.find('\n') != std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, "a pattern holds no newline");
  }
  if (query.syntax == GrepQuery::Syntax::kFixed && !query.ignore_case && !query.word &&
      !query.pattern.empty()) {
    literal_ = query.pattern;
    return;
  }
  const std::string pattern = regex_text(query);
  line_ = compile(pattern, query, false);
  whole_ = compile(pattern, query, true);
}

GrepMatcher::~GrepMatcher() = default;

bool GrepMatcher::line_matches(std::string_view line) const {
  return RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), *line_);
}

bool GrepMatcher::next_line(std::string_view text, std::size_t from, std::size_t& start,
                            std::size_t& end) const {
  while (from <= text.size()) {
    std::size_t hit;
    if (!literal_.empty()) {
      const void* found = memmem(text.data() + from, text.size() - from, literal_.data(),
                                 literal_.size());
      if (found == nullptr) return false;
      hit = static_cast<std::size_t>(static_cast<const char*>(found) - text.data());
    } else {
      if (from == text.size()) return false;  // no line starts at the end
      re2::StringPiece match;
      if (!whole_->Match(re2::StringPiece(text.data(), text.size()), from, text.size(),
                         RE2::UNANCHORED, &match, 1)) {
        return false;
      }
      hit = static_cast<std::size_t>(match.data() - text.data());
      // An empty match after the last newline is at no line.
      if (hit == text.size() && text.back() == '\n') return false;
    }
    const std::size_t line_start = hit == from ? from : [&] {
      const void* newline = memrchr(text.data() + from, '\n', hit - from);
      return newline == nullptr
                 ? from
                 : static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) + 1;
    }();
    const void* newline = std::memchr(text.data() + hit, '\n', text.size() - hit);
    const std::size_t line_end =
        newline == nullptr ? text.size()
                           : static_cast<std::size_t>(static_cast<const char*>(newline) - text.data());
    // A literal holds no newline: its hit is its line's.
    if (!literal_.empty() || line_matches(text.substr(line_start, line_end - line_start))) {
      start = line_start;
      end = line_end;
      return true;
    }
    from = line_end + 1;
  }
  return false;
}

}  // namespace buildhist::internal
