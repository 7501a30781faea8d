#include "buildhist/error.h"
#include "buildhist/status.h"
#include "status/owner.h"
#include "status/shard_sync.h"
#include "util/log_codec.h"

namespace buildhist {

namespace {

bool is_stream_character(char c) { return c == 'o' || c == 'e' || c == 'h'; }

}  // namespace

Log::Log(internal::StatusKey, std::shared_ptr<internal::ShardSync> sync,
         std::weak_ptr<internal::StatusOwner> owner, std::int64_t id, int build_number,
         int step_number, LogRecord record)
    : sync_(std::move(sync)),
      owner_(std::move(owner)),
      id_(id),
      build_number_(build_number),
      step_number_(step_number),
      slug_(record.slug),
      record_(std::move(record)) {
  sync_->live_logs.fetch_add(1, std::memory_order_relaxed);
}

Log::~Log() { sync_->live_logs.fetch_sub(1, std::memory_order_relaxed); }

LogRecord Log::record() const {
  std::lock_guard lock(sync_->mu);
  return record_;
}

std::shared_ptr<Step> Log::step() const {
  {
    std::lock_guard lock(sync_->mu);
    if (auto step = step_.lock()) return step;
  }
  // Refault the build: loading it adopts this log and points it at its new step.
  auto owner = internal::open_owner(owner_, "follow a log to its step");
  auto build = owner->get(build_number_, internal::StatusOwner::Via::kParentHandle);
  std::lock_guard lock(sync_->mu);
  if (auto step = step_.lock()) return step;
  throw Error(ErrorCode::kNotFound, "step " + sync_->builder + "/" +
                                        std::to_string(build_number_) + "/" +
                                        std::to_string(step_number_) + " of log " + slug_ +
                                        " is no longer in the store");
}

void Log::check_writable_locked(const Build& build, const char* what) const {
  if (record_.complete) {
    throw Error(ErrorCode::kFailedPrecondition, std::string(what) + " log " + slug_ + " of " +
                                                    sync_->builder + "/" +
                                                    std::to_string(build_number_) +
                                                    ": the log is finished");
  }
  build.check_writable_locked((std::string(what) + " a log of").c_str());
}

void Log::append(std::string_view text, Durability durability) {
  if (text.empty()) return;
  auto step = this->step();
  auto build = step->build();
  auto owner = internal::open_owner(owner_, "append to a log");
  const auto end_of_lines = text.rfind('\n');
  // Text without a newline only joins the partial line this Log holds.
  internal::Admission admission = end_of_lines == std::string_view::npos
                                      ? owner->admit(0, 0)
                                      : owner->admit(2, text.size());
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    check_writable_locked(*build, "append to");
    if (end_of_lines == std::string_view::npos) {
      // Held until a later append ends it: the build stays resident meanwhile, so
      // the line cannot be lost by an eviction while nobody holds this log.
      if (partial_.empty()) owner->pin_locked(build);
      partial_.append(text);
      return;
    }
    std::string lines;
    lines.reserve(partial_.size() + end_of_lines + 1);
    lines.append(partial_).append(text.substr(0, end_of_lines + 1));
    std::int64_t count = 0;
    bool well_formed = true;
    internal::for_each_line(lines, [&](std::string_view line) {
      ++count;
      if (record_.type == LogType::kStdio && (line.empty() || !is_stream_character(line[0]))) {
        well_formed = false;
      }
    });
    if (!well_formed) {
      throw Error(ErrorCode::kInvalidArgument,
                  "append to stdio log " + slug_ + ": every line must start with a stream "
                  "character (o stdout, e stderr, h header)");
    }
    LogRecord changed = record_;
    const std::int64_t first = changed.num_lines;
    changed.num_lines += count;
    // The chunk and the log's line count commit together or not at all.
    internal::RowWrite unit[] = {
        internal::ChunkWrite{&id_, first, first + count - 1, std::move(lines)},
        internal::LogRowWrite{&id_, &step->id_, changed}};
    sequence = owner->enqueue_locked(admission, unit, build);
    record_ = std::move(changed);
    const bool held_partial = !partial_.empty();
    partial_.assign(text.substr(end_of_lines + 1));
    if (held_partial && partial_.empty()) owner->unpin_locked(build_number_);
    if (!held_partial && !partial_.empty()) owner->pin_locked(build);
    last_write_ = sequence;
  }
  owner->settle(sequence, durability);
}

void Log::finish(Durability durability) {
  auto step = this->step();
  auto build = step->build();
  auto owner = internal::open_owner(owner_, "finish a log");
  // The partial line's text is already in memory: it moves into the chunk.
  internal::Admission admission = owner->admit(2, 0);
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    check_writable_locked(*build, "finish");
    LogRecord changed = record_;
    std::vector<internal::RowWrite> unit;
    if (!partial_.empty()) {
      if (changed.type == LogType::kStdio && !is_stream_character(partial_[0])) {
        throw Error(ErrorCode::kInvalidArgument,
                    "finish stdio log " + slug_ + ": its last line has no stream character");
      }
      const std::int64_t line = changed.num_lines;
      unit.emplace_back(internal::ChunkWrite{&id_, line, line, partial_ + "\n"});
      ++changed.num_lines;
    }
    changed.complete = true;
    unit.emplace_back(internal::LogRowWrite{&id_, &step->id_, changed});
    sequence = owner->enqueue_locked(admission, unit, build);
    record_ = std::move(changed);
    if (!partial_.empty()) {
      partial_.clear();
      owner->unpin_locked(build_number_);
    }
    last_write_ = sequence;
  }
  owner->settle(sequence, durability);
}

void Log::read(std::int64_t from, std::int64_t limit,
               const std::function<bool(const LogLine&)>& sink) const {
  if (from < 0 || limit < 0) {
    throw Error(ErrorCode::kInvalidArgument, "read log " + slug_ + ": from and limit must be >= 0");
  }
  auto owner = internal::open_owner(owner_, "read a log");
  std::uint64_t written = 0;
  {
    std::lock_guard lock(sync_->mu);
    written = last_write_;
  }
  // Readers see every line appended through this object: wait for its commit
  // (which also gives a new log its id).
  owner->wait_committed(written);
  owner->read_log(id_.get(), from, limit, sink);
}

}  // namespace buildhist
