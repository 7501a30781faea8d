// Searching a whole chunk at once, not line by line, is what makes grep fast: the
// engine runs over the buffer and only a hit costs a look at its line. A match
// over the buffer may span a newline (`\s`, `[^x]` match one), so a hit is checked
// against its line alone; a line that matches alone always yields a hit at or
// before it (in multi-line mode `^`, `$` and `\b` see a newline as a line's edge),
// so the leftmost hit never skips a matching line. That holds for every pattern
// but one that anchors to the whole text (\A, \z, or (?-m) making ^ and $ the
// text's ends): over the buffer, those match once at most, so such a pattern is
// tried on each line in turn instead.
#include "query/grep_matcher.h"

#include <cstring>

#include <re2/re2.h>

#include "buildhist/error.h"
#include "util/quoted.h"

namespace buildhist::internal {

namespace {

// Whether `pattern` ends inside a \Q quote that no \E closes: RE2 then takes the
// rest of the text as literal, so whatever is appended to it would be too.
bool ends_quoted(std::string_view pattern) {
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] != '\\') continue;
    if (pattern[i + 1] == 'Q') {
      const std::size_t close = pattern.find("\\E", i + 2);
      if (close == std::string_view::npos) return true;
      i = close + 1;
    } else {
      ++i;  // the escaped character is not special
    }
  }
  return false;
}

std::string regex_text(const GrepQuery& query) {
  std::string pattern =
      query.syntax == GrepQuery::Syntax::kFixed ? RE2::QuoteMeta(query.pattern) : query.pattern;
  // GNU grep's -w: no word character right before or after the match. An open
  // \Q quote is closed first, or it would swallow the closing part.
  if (query.word) {
    if (ends_quoted(pattern)) pattern += "\\E";
    pattern = "(?:^|[^0-9A-Za-z_])(?:" + pattern + ")(?:$|[^0-9A-Za-z_])";
  }
  return pattern;
}

// Whether `pattern` may hold \A, \z or a flag group that turns multi-line off: a
// scan of its text that errs on the side of yes (an escaped "\\A" is not an
// anchor, but "[\A]" or "\Q\A\E" still count), which only costs speed.
bool may_anchor_to_text(std::string_view pattern) {
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (pattern[i + 1] == 'A' || pattern[i + 1] == 'z') return true;
      ++i;  // the escaped character is not special
    } else if (pattern[i] == '(' && pattern[i + 1] == '?') {
      // (?flags) or (?flags:...): flags are [imsU], those after '-' turned off.
      // The scan stops at the first character that is no flag, so that it reads
      // each character once: "(?(?(?..." must not cost the square of its length.
      bool off = false;
      for (std::size_t j = i + 2;
           j < pattern.size() && std::string_view("imsU-").find(pattern[j]) != std::string_view::npos;
           ++j) {
        if (pattern[j] == '-') off = true;
        if (off && pattern[j] == 'm') return true;
      }
    }
  }
  return false;
}

// RE2's error, with the part of the pattern it quotes (its error_arg) quoted as
// every error quotes input: the arg is the user's bytes.
std::string pattern_error(const RE2& re) {
  const std::string& text = re.error();
  const std::string& arg = re.error_arg();
  const std::string suffix = ": " + arg;
  if (arg.empty() || text.size() < suffix.size() ||
      text.compare(text.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return internal::quoted(text);
  }
  return text.substr(0, text.size() - suffix.size()) + " at " + internal::quoted(arg);
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
                "bad pattern " + internal::quoted(query.pattern) + ": " + pattern_error(*re));
  }
  return re;
}

// Whether a regex matches exactly its own text: no byte of it is special to RE2.
bool is_plain_text(std::string_view pattern) {
  return pattern.find_first_of("\\^$.|?*+()[]{}") == std::string_view::npos;
}

}  // namespace

GrepMatcher::GrepMatcher(const GrepQuery& query) {
  if (query.pattern.find('\n') != std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, "a pattern holds no newline");
  }
  const bool fixed = query.syntax == GrepQuery::Syntax::kFixed || is_plain_text(query.pattern);
  if (fixed && !query.ignore_case && !query.word && !query.pattern.empty()) {
    literal_ = query.pattern;
    return;
  }
  // -w wraps the pattern in a group, which "a)|(b" would break out of: the pattern
  // must be one on its own first (this also makes its error the user's pattern's).
  if (query.word && query.syntax == GrepQuery::Syntax::kRegex) {
    compile(query.pattern, query, false);
  }
  const std::string pattern = regex_text(query);
  line_ = compile(pattern, query, false);
  if (query.syntax == GrepQuery::Syntax::kFixed || !may_anchor_to_text(query.pattern)) {
    whole_ = compile(pattern, query, true);
  }
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
    } else if (!whole_) {
      if (from == text.size()) return false;  // no line starts at the end
      hit = from;  // the line at `from`, then the next, as GNU grep does
    } else {
      if (from == text.size()) return false;
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
