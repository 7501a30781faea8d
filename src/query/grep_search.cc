#include "query/grep_search.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace buildhist::internal {


GrepSearch::GrepSearch(const GrepQuery& query, const Sink& sink, std::int64_t builders)
    : query_(query),
      sink_(sink),
      builders_(builders),
      context_(query.output == GrepQuery::Output::kLines && (query.before > 0 || query.after > 0)) {}

bool GrepSearch::wants(const GrepLog& log) const {
  if (done_) return false;
  if (query_.pick == GrepQuery::Pick::kAll) return true;
  const auto picked = picked_.find(log.build.builder);
  return picked == picked_.end() || picked->second == log.build.number;
}

bool GrepSearch::past_every_pick(const GrepLog& log) const {
  // Logs come a build at a time: once every builder has its build and the logs
  // have moved past those, nothing more can be wanted.
  if (query_.pick == GrepQuery::Pick::kAll ||
      static_cast<std::int64_t>(picked_.size()) < builders_) {
    return false;
  }
  const auto picked = picked_.find(log.build.builder);
  return picked != picked_.end() && picked->second != log.build.number;
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

bool GrepSearch::chunk(const ScannedChunk& scanned) {
  summary_.bytes_scanned += scanned.stored_bytes;
  const std::string_view text = scanned.text;
  const std::int64_t first_line = scanned.first_line;
  const auto stream_of = [&](std::int64_t number) {
    return scanned.streams.empty() ? '\0'
                                   : scanned.streams[static_cast<std::size_t>(number - first_line)];
  };
  const bool lines = query_.output == GrepQuery::Output::kLines;

  std::size_t at = 0;                // a line's start
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

  for (const LineSpan& found : scanned.matches) {
    if (done_ || stopping_) break;
    if (!lines) {
      if (!on_match()) return false;
      if (limit_reached()) stopping_ = done_ = true;
      continue;
    }
    const std::size_t start = found.start, end = found.end;
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
  if (lines && !done_ && after_left_ > 0) {
    trailing(first_line + static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  }
  if (lines && !done_) keep_tail(scanned);
  if (stopping_ && after_left_ == 0) done_ = true;
  return !done_;
}

void GrepSearch::keep_tail(const ScannedChunk& scanned) {
  const std::string_view text = scanned.text;
  const std::int64_t first_line = scanned.first_line;
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
                         scanned.streams.empty()
                             ? '\0'
                             : scanned.streams[static_cast<std::size_t>(n - first_line)]});
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
