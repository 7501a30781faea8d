#include "transfer/buildbot_import.h"

#include <filesystem>

#include "buildhist/error.h"
#include "buildhist/reference.h"
#include "util/json_text.h"
#include "sql/buildbot_reader.h"
#include "transfer/chunk_decoder.h"

namespace buildhist::transfer {

namespace {

using internal::BuildbotBuild;
using internal::BuildbotReader;

std::optional<Results> results_of(const std::optional<int>& code) {
  if (!code) return std::nullopt;
  return results_from_code(*code);
}

// Buildbot deletes old log text by setting a log's type to 'd' and dropping its
// chunks; the store keeps such a log as buildhist's own retention does, a text
// log of 0 lines.
LogRecord log_record(const internal::BuildbotLog& log) {
  LogRecord record;
  record.slug = log.slug;
  record.name = log.name;
  const bool deleted = log.type == 'd';
  switch (log.type) {
    case 's':
      record.type = LogType::kStdio;
      break;
    case 'h':
      record.type = LogType::kHtml;
      break;
    default:
      record.type = LogType::kText;
  }
  record.num_lines = deleted ? 0 : log.num_lines;
  record.complete = deleted || log.complete;
  return record;
}

// Everything of the build but its log text, as the store will hold it.
BuildDetail read_detail(BuildbotReader& reader, const std::string& builder,
                        const BuildbotBuild& build, std::vector<std::vector<std::int64_t>>& log_ids) {
  BuildDetail detail;
  detail.build.builder = builder;
  detail.build.number = build.number;
  detail.build.worker = build.worker;
  detail.build.started_at = build.started_at;
  detail.build.complete_at = build.complete_at;
  detail.build.state_string = build.state_string;
  detail.build.results = results_of(build.results);
  for (const auto& property : reader.properties(build.id)) {
    detail.properties.push_back({property.name, canonical_json(property.value), property.source});
  }
  log_ids.clear();
  for (const auto& step : reader.steps(build.id)) {
    StepDetail& out = detail.steps.emplace_back();
    out.step.number = step.number;
    out.step.name = step.name;
    out.step.started_at = step.started_at;
    out.step.complete_at = step.complete_at;
    out.step.state_string = step.state_string;
    out.step.results = results_of(step.results);
    out.step.urls = internal::urls_from_json(step.urls_json);
    out.step.hidden = step.hidden;
    auto& ids = log_ids.emplace_back();
    for (const auto& log : reader.logs(step.id)) {
      if (log.type == 'd') {
        ids.push_back(0);  // nothing to read
      } else {
        ids.push_back(log.id);
      }
      out.logs.push_back(log_record(log));
    }
  }
  return detail;
}

class Importer {
 public:
  Importer(const std::string& store_path, const std::string& buildbot_path,
           const BuildbotImportOptions& options)
      : options_(options), reader_(buildbot_path, options.busy_timeout) {
    if (!options.dry_run || std::filesystem::exists(store_path)) {
      sink_.emplace(store_path, options.busy_timeout);
    }
  }

  TransferCounts run() {
    for (const auto& builder : reader_.builders(options_.builder)) {
      std::vector<int> revisit;
      std::optional<int> newest;
      if (sink_) {
        revisit = sink_->unfinished_numbers(builder.name);
        newest = sink_->newest_number(builder.name);
      }
      for (int number : revisit) {
        if (auto build = reader_.build(builder.id, number)) import_build(builder.name, *build);
      }
      reader_.builds_after(builder.id, newest.value_or(0), [&](const BuildbotBuild& build) {
        import_build(builder.name, build);
        return true;
      });
    }
    reader_.release();
    return sink_ ? sink_->counts() : dry_counts_;
  }

 private:
  void import_build(const std::string& builder, const BuildbotBuild& build) {
    const BuildDetail detail = read_detail(reader_, builder, build, log_ids_);
    if (!sink_ || options_.dry_run) {
      count_dry(detail);
      return;
    }
    try {
      if (sink_->begin(detail) == BuildSink::Action::kSkip) return;
      for (std::size_t s = 0; s < log_ids_.size(); ++s) {
        for (std::size_t l = 0; l < log_ids_[s].size(); ++l) {
          if (log_ids_[s][l] != 0) copy_log(builder, detail, s, l);
        }
      }
      sink_->commit();
      if (options_.progress && sink_->counts().builds % 100 == 0) {
        options_.progress("imported " + std::to_string(sink_->counts().builds) + " builds");
      }
    } catch (const Error& e) {
      sink_->abandon();
      if (e.code() != ErrorCode::kFailedPrecondition && e.code() != ErrorCode::kInvalidArgument) {
        throw;
      }
      report(e.what());
    }
  }

  void copy_log(const std::string& builder, const BuildDetail& detail, std::size_t s,
                std::size_t l) {
    std::int64_t next_line = 0;
    bool broken = false;
    reader_.chunks(log_ids_[s][l], [&](const internal::BuildbotChunk& chunk) {
      if (broken) return;
      Reference log;
      log.builder = builder;
      log.number = detail.build.number;
      log.step = StepSelector{detail.steps[s].step.number, {}};
      log.log = detail.steps[s].logs[l].slug;
      const std::string where = format_reference(log) + " chunk of lines " +
                                std::to_string(chunk.first_line) + "-" +
                                std::to_string(chunk.last_line);
      if (chunk.first_line != next_line || chunk.last_line < chunk.first_line) {
        broken = true;
        report(where + ": lines out of sequence (expected line " + std::to_string(next_line) +
               "); the log is imported up to there, not complete");
        return;
      }
      std::string_view text;
      try {
        text = decode_buildbot_chunk(chunk.compressed, chunk.content, scratch_);
      } catch (const Error& e) {
        broken = true;
        report(where + ": " + e.what() + "; the log is imported up to there, not complete");
        return;
      }
      // Buildbot's chunk has no newline after its last line; the store's has.
      lines_.assign(text);
      lines_ += '\n';
      const auto count = std::count(lines_.begin(), lines_.end(), '\n');
      if (count != chunk.last_line - chunk.first_line + 1) {
        broken = true;
        report(where + ": holds " + std::to_string(count) +
               " lines; the log is imported up to there, not complete");
        return;
      }
      sink_->append(s, l, lines_);
      next_line = chunk.last_line + 1;
    });
    if (broken) sink_->mark_incomplete(s, l);
  }

  void count_dry(const BuildDetail& detail) {
    ++dry_counts_.builds;
    for (const StepDetail& step : detail.steps) {
      ++dry_counts_.steps;
      for (const LogRecord& log : step.logs) {
        ++dry_counts_.logs;
        dry_counts_.lines += log.num_lines;
      }
    }
  }

  void report(const std::string& line) {
    if (sink_) ++sink_->counts().problems;
    if (options_.problem) options_.problem(line);
  }

  const BuildbotImportOptions& options_;
  BuildbotReader reader_;
  std::optional<BuildSink> sink_;
  TransferCounts dry_counts_;
  std::vector<std::vector<std::int64_t>> log_ids_;
  std::string scratch_;
  std::string lines_;
};

}  // namespace

TransferCounts import_buildbot(const std::string& store_path, const std::string& buildbot_path,
                               const BuildbotImportOptions& options) {
  return Importer(store_path, buildbot_path, options).run();
}

}  // namespace buildhist::transfer
