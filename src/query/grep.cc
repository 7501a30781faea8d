// History::grep: this thread reads the logs in output order and their chunks,
// which are decoded and scanned on every core (query/grep_pipeline.h), then taken
// back in order by the search.
#include <deque>
#include <string>
#include <thread>

#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/store.h"
#include "query/grep_matcher.h"
#include "query/grep_pipeline.h"
#include "query/grep_search.h"
#include "sql/grep_reader.h"
#include "sql/status_reader.h"
#include "store/store_access.h"

namespace buildhist {

std::string GrepLog::reference() const {
  const bool digits = !step_name.empty() &&
                      step_name.find_first_not_of("0123456789") == std::string::npos;
  StepSelector step;
  if (digits) {
    step.number = step_number;
  } else {
    step.name = step_name;
  }
  return format_reference(Reference{build.builder, build.number, step, slug});
}

namespace {

void check_query(const GrepQuery& query) {
  if (query.before < 0 || query.after < 0) {
    throw Error(ErrorCode::kInvalidArgument, "context is 0 lines or more");
  }
  if (query.max_count < 0) throw Error(ErrorCode::kInvalidArgument, "--max-count is 0 or more");
}

// A log being searched: its id and the fields its events carry.
struct LogRow {
  std::int64_t log_id = 0;
  GrepLog log;
};

// Takes the scanned chunks back from the pipeline, in order, into the search:
// begins and ends each log, and skips the chunks of a log the search no longer
// wants.
class ChunkFeeder {
 public:
  ChunkFeeder(internal::GrepSearch& search, internal::GrepPipeline& pipeline)
      : search_(search), pipeline_(pipeline) {}

  // A log whose chunks follow; kept until they have all been taken.
  void add_log(const LogRow& row) { logs_.push_back(Pending{++added_, row}); }

  // Takes the oldest chunk in the pipeline into the search.
  void take_one() {
    const internal::ScannedChunk& chunk = pipeline_.front();
    const std::int64_t log = owners_.front();
    owners_.pop_front();
    if (log != current_) switch_to(log);
    if (searching_ && !search_.chunk(chunk)) searching_ = false;
    pipeline_.pop();
  }
  // Queues `chunk` of the newest log added, taking chunks back while it is full.
  void push(internal::StoredChunk& chunk) {
    while (pipeline_.full(chunk.raw_bytes) && !search_.done()) take_one();
    if (search_.done()) return;
    owners_.push_back(added_);
    pipeline_.push(chunk);
  }
  // Takes every chunk left, then ends the last log.
  void drain() {
    while (!pipeline_.empty() && !search_.done()) take_one();
    if (begun_) search_.end_log();
    begun_ = false;
  }

 private:
  struct Pending {
    std::int64_t sequence;
    LogRow row;
  };

  void switch_to(std::int64_t log) {
    if (begun_) search_.end_log();
    begun_ = searching_ = false;
    while (logs_.front().sequence != log) logs_.pop_front();
    current_ = log;
    const LogRow& row = logs_.front().row;
    if (search_.wants(row.log)) {
      search_.begin_log(row.log_id, row.log);
      begun_ = searching_ = true;
    }
  }

  internal::GrepSearch& search_;
  internal::GrepPipeline& pipeline_;
  std::deque<Pending> logs_;           // from the current log on
  std::deque<std::int64_t> owners_;    // the log of each chunk in the pipeline
  std::int64_t added_ = 0;
  std::int64_t current_ = 0;
  bool begun_ = false;      // begin_log() called for current_
  bool searching_ = false;  // and the search still wants its chunks
};

}  // namespace

GrepSummary History::grep(const GrepQuery& query,
                          const std::function<bool(const GrepEvent&)>& sink) {
  check_query(query);
  const internal::GrepMatcher matcher(query);
  auto reader = internal::StoreAccess::impl(store_).reader();
  for (const auto& name : query.builders) {
    if (!internal::find_builder(*reader, name)) {
      throw Error(ErrorCode::kNotFound, "no builder named '" + name + "'");
    }
  }
  internal::GrepSearch search(query, sink, internal::count_grep_builders(*reader, query));
  internal::GrepPipeline pipeline(matcher, std::max(1u, std::thread::hardware_concurrency()));
  ChunkFeeder feeder(search, pipeline);
  internal::StoredChunk stored;
  LogRow log;           // the log of the chunks being read
  bool wanted = false;  // and whether the search wants it
  internal::list_grep_builds(
      *reader, query, query.pick == GrepQuery::Pick::kFirst,
      [&](const internal::GrepBuildRow& build) {
        log.log.build = build.build;
        log.log.got_revision = build.got_revision;
        log.log_id = 0;
        bool more = true;
        internal::list_grep_chunks(*reader, build.build_id, query,
                                   [&](const internal::GrepChunkRow& chunk) {
          if (chunk.log_id != log.log_id) {
            log.log_id = chunk.log_id;
            log.log.step_number = chunk.step_number;
            log.log.step_name = chunk.step_name;
            log.log.slug = chunk.slug;
            log.log.type = chunk.type;
            if (search.past_every_pick(log.log)) return more = false;
            wanted = search.wants(log.log);
            if (wanted) feeder.add_log(log);
          }
          if (wanted) {
            stored.stdio = chunk.type == LogType::kStdio;
            stored.lines = query.output == GrepQuery::Output::kLines;
            stored.first_line = chunk.first_line;
            stored.codec = chunk.codec;
            stored.raw_bytes = chunk.raw_bytes;
            stored.content.assign(chunk.content);
            stored.dictionary = chunk.dictionary;
            feeder.push(stored);
          }
          return more = !search.done();
        });
        return more;
      });
  feeder.drain();
  return search.summary();
}

}  // namespace buildhist
