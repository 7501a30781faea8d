#include "query/grep_search.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace buildhist::internal {

namespace {

// The end of the line starting at `start`: its newline, or the text's end.
std::size_t line_end(std::string_view text, std::size_t start) {
  const void* newline = std::memchr(text.data() + start, '\n', text.size() - start);
  return newline == nullptr
             ? text.size()
             : static_cast<std::size_t>(static_cast<const char*>(newline) - text.data());
}

// The start of the line before the one starting at `start` (> 0).
std::size_t previous_line_start(std::string_view text, std::size_t start) {
  assert(start > 0 && text[start - 1] == '\n');
  const void* newline = start < 2 ? nullptr : memrchr(text.data(), '\n', start - 1);
  return newline == nullptr
             ? 0
             : static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) + 1;
}

// `text`'s lines without their first character, into `plain`, and those characters
// into `streams`.
void split_streams(std::string_view text, std::string& plain, std::string& streams) {
  plain.clear();
  streams.clear();
  plain.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = line_end(text, at);
    if (end > at) {
      streams.push_back(text[at]);
      plain.append(text.data() + at + 1, end - at - 1);
    } else {
      streams.push_back('\0');
    }
    plain.push_back('\n');
    at = end + 1;
  }
}

}  // namespace

GrepSearch::GrepSearch(const GrepQuery& query, const GrepMatcher& matcher, const Sink& sink,
                       std::int64_t builders)
    : query_(query),
      matcher_(matcher),
      sink_(sink),
      builders_(builders),
      context_(query.output == GrepQuery::Output::kLines && (query.before > 0 || query.after > 0)) {}

bool GrepSearch::wants(std::int64_t, const GrepLog& log) {
  if (done_) return false;
  if (query_.pick == GrepQuery::Pick::kAll) return true;
  const auto picked = picked_.find(log.build.builder);
  if (picked != picked_.end()) {
    if (picked->second == log.build.number) return true;
    // Rows come a build at a time: once every builder has its build and the rows
    // have moved past this one, nothing more can be wanted.
    if (static_cast<std::int64_t>(picked_.size()) >= builders_) done_ = true;
    return false;
  }
  return true;
}

void GrepSearch::begin_log(std::int64_t log_id, const GrepLog& log) {
  log_ = &log;
  log_id_ = log_id;
  log_matches_ = 0;
  printed_through_ = -1;
  after_left_ = 0;
  kept_.clear();
}

bool GrepSearch::limit_reached() const noexcept {
  if (query_.max_count <= 0) return false;
  const std::int64_t found = query_.output == GrepQuery::Output::kLogs ? summary_.matching_logs
                                                                       : summary_.matching_lines;
  return found >= query_.max_count;
}

void GrepSearch::emit(const GrepEvent& event) {
  if (!sink_(event)) done_ = true;
}

void GrepSearch::emit_line(std::int64_t number, std::string_view text, char stream, bool match) {
  assert(number > printed_through_);
  if (context_ && emitted_any_ && (emitted_log_ != log_id_ || number != printed_through_ + 1)) {
    emit(GrepEvent{GrepEvent::Kind::kSeparator, nullptr, 0, {}, 0, 0});
  }
  emit(GrepEvent{match ? GrepEvent::Kind::kMatch : GrepEvent::Kind::kContext, log_, number, text,
                 stream, 0});
  printed_through_ = number;
  emitted_any_ = true;
  emitted_log_ = log_id_;
}

bool GrepSearch::on_match() {
  if (log_matches_++ == 0) {
    ++summary_.matching_logs;
    if (query_.pick != GrepQuery::Pick::kAll) {
      picked_.emplace(log_->build.builder, log_->build.number);
    }
  }
  ++summary_.matching_lines;
  if (query_.output == GrepQuery::Output::kLogs) {
    emit(GrepEvent{GrepEvent::Kind::kLog, log_, 0, {}, 0, 0});
    if (limit_reached()) stopping_ = done_ = true;
    return false;
  }
  return true;
}

bool GrepSearch::chunk(std::int64_t first_line, std::string_view stored) {
  summary_.bytes_scanned += static_cast<std::int64_t>(stored.size());
  const bool stdio = log_->type == LogType::kStdio;
  std::string_view text = stored;
  if (stdio) {
    split_streams(stored, plain_, streams_);
    text = plain_;
  }
  const auto stream_of = [&](std::int64_t number) {
    return stdio ? streams_[static_cast<std::size_t>(number - first_line)] : '\0';
  };
  const bool lines = query_.output == GrepQuery::Output::kLines;

  std::size_t at = 0;             // a line's start
  std::int64_t number = first_line;  // that line's number
  // Trailing context from `at` up to (not including) line `until`.
  const auto trailing = [&](std::int64_t until) {
    while (after_left_ > 0 && number < until && at < text.size() && !done_) {
      const std::size_t end = line_end(text, at);
      if (number > printed_through_) {
        emit_line(number, text.substr(at, end - at), stream_of(number), false);
      }
      --after_left_;
      at = end + 1;
      ++number;
    }
  };

  std::size_t start = 0, end = 0;
  while (!done_ && !stopping_ && matcher_.next_line(text, at, start, end)) {
    if (!lines) {
      if (!on_match()) return false;
      if (limit_reached()) stopping_ = done_ = true;
      at = end + 1;
      continue;
    }
    const std::int64_t match = number + std::count(text.data() + at, text.data() + start, '\n');
    trailing(match);
    // Leading context: within this chunk walking back, and from the lines kept.
    const std::int64_t from = std::max({match - query_.before, printed_through_ + 1, first_line});
    for (const Kept& kept : kept_) {
      if (kept.number >= match - query_.before && kept.number > printed_through_) {
        emit_line(kept.number, kept.text, kept.stream, false);
      }
    }
    std::size_t lead = start;
    for (std::int64_t n = match; n > from; --n) lead = previous_line_start(text, lead);
    for (std::int64_t n = from; n < match; ++n) {
      const std::size_t lead_end = line_end(text, lead);
      emit_line(n, text.substr(lead, lead_end - lead), stream_of(n), false);
      lead = lead_end + 1;
    }
    emit_line(match, text.substr(start, end - start), stream_of(match), true);
    on_match();
    after_left_ = query_.after;
    at = end + 1;
    number = match + 1;
    if (limit_reached()) stopping_ = true;
  }
  if (lines && !done_) {
    trailing(first_line + static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n')) + 1);
    keep_tail(first_line, text);
  }
  if (stopping_ && after_left_ == 0) done_ = true;
  return !done_;
}

void GrepSearch::keep_tail(std::int64_t first_line, std::string_view text) {
  if (query_.before <= 0 || text.empty()) return;
  // The chunk's last `before` lines, oldest first, after what is kept already.
  std::int64_t last = first_line + std::count(text.begin(), text.end(), '\n') - 1;
  if (text.back() != '\n') ++last;
  std::size_t start = text.back() == '\n' ? text.size() - 1 : text.size();
  start = start == 0 ? 0 : [&] {
    const void* newline = memrchr(text.data(), '\n', start);
    return newline == nullptr
               ? std::size_t{0}
               : static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) + 1;
  }();
  std::deque<Kept> tail;
  for (std::int64_t n = last; n >= first_line && n > last - query_.before; --n) {
    const std::size_t end = line_end(text, start);
    tail.push_front(Kept{n, std::string(text.substr(start, end - start)),
                         log_->type == LogType::kStdio
                             ? streams_[static_cast<std::size_t>(n - first_line)]
                             : '\0'});
    if (start == 0) break;
    start = previous_line_start(text, start);
  }
  for (auto& kept : tail) kept_.push_back(std::move(kept));
  while (kept_.size() > static_cast<std::size_t>(query_.before)) kept_.pop_front();
}

void GrepSearch::end_log() {
  if (query_.output == GrepQuery::Output::kCounts && log_matches_ > 0) {
    emit(GrepEvent{GrepEvent::Kind::kCount, log_, 0, {}, 0, log_matches_});
  }
  if (stopping_ && after_left_ == 0) done_ = true;
  // Trailing context does not run into the next log.
  if (stopping_) done_ = true;
  log_ = nullptr;
}

}  // namespace buildhist::internal
