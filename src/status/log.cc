#include "buildhist/error.h"
#include "buildhist/status.h"
#include "cache/shard.h"
#include "util/log_codec.h"
#include "sql/status_reader.h"
#include "store/store_impl.h"
#include "store/write_queue.h"

namespace buildhist {

namespace {

bool is_stream_character(char c) { return c == 'o' || c == 'e' || c == 'h'; }

}  // namespace

Log::Log(internal::StatusKey, std::shared_ptr<internal::ShardSync> sync,
         std::weak_ptr<internal::Shard> shard, std::int64_t id, int build_number,
         int step_number, LogRecord record)
    : sync_(std::move(sync)),
      shard_(std::move(shard)),
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
  auto shard = internal::open_shard(shard_, "follow a log to its step");
  auto build = shard->get(build_number_, internal::Shard::Via::kParentHandle);
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
  auto shard = internal::open_shard(shard_, "append to a log");
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    check_writable_locked(*build, "append to");
    const auto end_of_lines = text.rfind('\n');
    if (end_of_lines == std::string_view::npos) {
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
    const std::int64_t first = record_.num_lines;
    partial_.assign(text.substr(end_of_lines + 1));
    record_.num_lines += count;
    // The chunk and the log's line count commit together or not at all.
    internal::RowWrite unit[] = {
        internal::ChunkWrite{id_, first, first + count - 1, std::move(lines)},
        internal::LogRowWrite{id_, step->id_, record_}};
    sequence = shard->submit_locked(unit, build);
    last_write_ = sequence;
  }
  shard->settle(sequence, durability);
}

void Log::finish(Durability durability) {
  auto step = this->step();
  auto build = step->build();
  auto shard = internal::open_shard(shard_, "finish a log");
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    check_writable_locked(*build, "finish");
    std::vector<internal::RowWrite> unit;
    if (!partial_.empty()) {
      if (record_.type == LogType::kStdio && !is_stream_character(partial_[0])) {
        throw Error(ErrorCode::kInvalidArgument,
                    "finish stdio log " + slug_ + ": its last line has no stream character");
      }
      const std::int64_t line = record_.num_lines;
      unit.emplace_back(internal::ChunkWrite{id_, line, line, partial_ + "\n"});
      partial_.clear();
      ++record_.num_lines;
    }
    record_.complete = true;
    unit.emplace_back(internal::LogRowWrite{id_, step->id_, record_});
    sequence = shard->submit_locked(unit, build);
    last_write_ = sequence;
  }
  shard->settle(sequence, durability);
}

void Log::read(std::int64_t from, std::int64_t limit,
               const std::function<bool(const LogLine&)>& sink) const {
  if (from < 0 || limit < 0) {
    throw Error(ErrorCode::kInvalidArgument, "read log " + slug_ + ": from and limit must be >= 0");
  }
  auto shard = internal::open_shard(shard_, "read a log");
  std::uint64_t written = 0;
  {
    std::lock_guard lock(sync_->mu);
    written = last_write_;
  }
  // Readers see every line appended through this object: wait for its commit.
  if (written != 0) shard->store().writes().wait(written);
  auto reader = shard->store().reader();
  internal::read_log_lines(*reader, id_, from, limit, sink);
}

}  // namespace buildhist
