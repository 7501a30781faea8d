#include "transfer/build_sink.h"

#include <algorithm>
#include <cassert>
#include <ctime>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "buildhist/error.h"
#include "buildhist/reference.h"
#include "store/handover.h"
#include "store/process_token.h"
#include "util/exact_numbers.h"
#include "util/quoted.h"

namespace buildhist::transfer {

namespace {

std::unique_ptr<Store> open_reader(const std::string& path, std::chrono::milliseconds timeout) {
  Options options;
  options.busy_timeout = timeout;
  Store::open(path, options).reset();  // creates or migrates it, then lets it go
  options.read_only = true;
  return Store::open(path, options);
}

bool unfinished(const BuildDetail& build) {
  if (!build.build.complete_at) return true;
  for (const StepDetail& step : build.steps) {
    for (const LogRecord& log : step.logs) {
      if (!log.complete) return true;
    }
  }
  return false;
}

BuildDetail sorted(BuildDetail build) {
  std::sort(build.properties.begin(), build.properties.end(),
            [](const Property& a, const Property& b) { return a.name < b.name; });
  return build;
}

std::string build_name(const BuildRecord& build) {
  Reference reference;
  reference.builder = build.builder;
  reference.number = build.number;
  return format_reference(reference);
}

}  // namespace

std::string canonical_json(std::string_view json) {
  // Read straight into the writer, iteratively: no document, and no recursion,
  // however deep the value (a property may be nested a million deep). Numbers
  // read exactly, so that writing a canonical value again changes nothing.
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  if (internal::read_exactly<rapidjson::kParseStopWhenDoneFlag>(json, writer).IsError()) {
    throw Error(ErrorCode::kInvalidArgument, "not a JSON value: " + internal::quoted(json));
  }
  return std::string(buffer.GetString(), buffer.GetSize());
}

BuildSink::BuildSink(const std::string& path, std::chrono::milliseconds busy_timeout)
    : path_(path),
      busy_timeout_(busy_timeout),
      reader_store_(open_reader(path, busy_timeout)),
      history_(*reader_store_),
      writer_(path, busy_timeout) {}

BuildSink::~BuildSink() { abandon(); }

std::int64_t BuildSink::begin_numbered(const BuildRecord& record) {
  // A build comes with its number. A master that numbers this builder in memory
  // would give that number again: it is asked to hand the numbering over (then
  // numbers through the database, after what is written here), and waited for.
  for (;;) {
    writer_.begin();
    begun_ = true;
    std::int64_t builder_id = 0;
    std::optional<std::string> holder;
    try {
      builder_id = writer_.builder_id(record.builder);
      holder = writer_.share_numbering(builder_id, internal::process_is_gone,
                                       static_cast<std::int64_t>(std::time(nullptr)));
      if (!holder) return builder_id;
      writer_.commit();  // the request, so the holder sees it
      begun_ = false;
    } catch (...) {
      abandon();
      throw;
    }
    internal::wait_for_handover([&] { return writer_.numbering_holder(builder_id); }, *holder,
                                busy_timeout_, "import " + build_name(record) + " into " + path_);
  }
}

BuildSink::Action BuildSink::begin(const BuildDetail& incoming_unsorted) {
  assert(!begun_);
  const BuildDetail incoming = sorted(incoming_unsorted);
  const BuildRecord& record = incoming.build;
  const std::int64_t builder_id = begin_numbered(record);
  try {
    if (const auto existing = writer_.build_id(builder_id, record.number)) {
      // The write lock is ours: what History reads now is what we would replace.
      const BuildDetail stored = sorted(history_.show(record.builder, record.number));
      if (stored == incoming) {
        abandon();
        ++counts_.skipped;
        return Action::kSkip;
      }
      const bool same_build = stored.build.started_at == record.started_at &&
                              stored.build.worker == record.worker;
      if (!same_build || !unfinished(stored)) {
        throw Error(ErrorCode::kFailedPrecondition,
                    build_name(record) + " is in the store with different content; refused");
      }
      writer_.delete_build(*existing);
    }
    const std::int64_t build_id = writer_.insert_build(builder_id, record);
    for (const Property& property : incoming.properties) writer_.insert_property(build_id, property);
    logs_.clear();
    for (const StepDetail& step : incoming.steps) {
      const std::int64_t step_id = writer_.insert_step(build_id, step.step);
      auto& logs = logs_.emplace_back();
      for (const LogRecord& log : step.logs) {
        // A purged log comes without text: it has all the lines it will get.
        const std::int64_t lines = log.purged_at ? log.num_lines : 0;
        logs.push_back({writer_.insert_log(step_id, log), lines, log.num_lines, log.complete,
                        log.purged_at.has_value()});
      }
    }
    if (std::find(builders_written_.begin(), builders_written_.end(), record.builder) ==
        builders_written_.end()) {
      builders_written_.push_back(record.builder);
    }
    return Action::kWrite;
  } catch (...) {
    abandon();
    throw;
  }
}

void BuildSink::append(std::size_t step, std::size_t log, std::string_view lines) {
  assert(begun_ && !lines.empty() && lines.back() == '\n');
  OpenLog& open = logs_.at(step).at(log);
  const auto count = static_cast<std::int64_t>(std::count(lines.begin(), lines.end(), '\n'));
  writer_.insert_chunk(open.id, open.lines, open.lines + count - 1, lines);
  open.lines += count;
  counts_.bytes += static_cast<std::int64_t>(lines.size());
}

void BuildSink::mark_incomplete(std::size_t step, std::size_t log) {
  logs_.at(step).at(log).complete = false;
}

void BuildSink::commit() {
  assert(begun_);
  try {
    for (const auto& step : logs_) {
      for (const OpenLog& log : step) {
        // A log whose text is not all there is not complete, whatever its source said.
        writer_.finish_log(log.id, log.lines, log.complete && log.lines == log.expected);
        ++counts_.logs;
        if (!log.purged) counts_.lines += log.lines;
      }
      ++counts_.steps;
    }
    writer_.commit();
    begun_ = false;
    ++counts_.builds;
    counts_.builders = static_cast<std::int64_t>(builders_written_.size());
  } catch (...) {
    abandon();
    throw;
  }
}

void BuildSink::abandon() noexcept {
  if (!begun_) return;
  writer_.rollback();
  begun_ = false;
  logs_.clear();
}

std::optional<int> BuildSink::newest_number(std::string_view builder) {
  const auto id = writer_.find_builder(builder);
  return id ? writer_.newest_number(*id) : std::nullopt;
}

std::vector<int> BuildSink::unfinished_numbers(std::string_view builder) {
  const auto id = writer_.find_builder(builder);
  return id ? writer_.unfinished_numbers(*id) : std::vector<int>{};
}

}  // namespace buildhist::transfer
