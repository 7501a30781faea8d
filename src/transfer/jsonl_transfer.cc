#include "transfer/jsonl_transfer.h"

#include <algorithm>

#include "buildhist/error.h"
#include "buildhist/history.h"
#include "transfer/jsonl_format.h"

namespace buildhist::transfer {

namespace {

void export_text(History& history, const BuildDetail& detail, std::ostream& out) {
  for (const StepDetail& step : detail.steps) {
    for (const LogRecord& log : step.logs) {
      if (log.num_lines == 0 || log.purged_at) continue;  // no text to export
      Reference reference;
      reference.builder = detail.build.builder;
      reference.number = detail.build.number;
      reference.step = StepSelector{step.step.number, {}};
      reference.log = log.slug;
      const LogDetail found = history.find_log(reference);
      TextRecord text;
      text.step = step.step.number;
      text.slug = log.slug;
      const auto flush = [&] {
        if (text.lines.empty()) return;
        out << text_line(text) << '\n';
        text.first_line += static_cast<std::int64_t>(text.lines.size());
        text.lines.clear();
      };
      history.read_log(found, 0, 0, [&](const LogLine& line) {
        text.lines.emplace_back(line.text);
        if (text.lines.size() == kLinesPerTextRecord) flush();
        return true;
      });
      flush();
    }
  }
}

}  // namespace

void export_jsonl(Store& store, const ExportOptions& options, std::ostream& out) {
  History history(store);
  std::vector<std::string> builders = options.builders;
  if (builders.empty()) {
    history.builders([&](const BuilderSummary& b) {
      builders.push_back(b.name);
      return true;
    });
  }
  for (const std::string& builder : builders) {
    BuildFilter filter;
    filter.limit = 0;
    filter.since = options.since;
    std::vector<int> numbers;  // newest first as History lists them
    history.builds(builder, filter, [&](const BuildRecord& b) {
      numbers.push_back(b.number);
      return true;
    });
    std::reverse(numbers.begin(), numbers.end());
    for (int number : numbers) {
      const BuildDetail detail = history.show(builder, number);
      out << build_line(detail, options.with_logs) << '\n';
      if (options.with_logs) export_text(history, detail, out);
    }
  }
  out.flush();
}

namespace {

class JsonlImporter {
 public:
  JsonlImporter(const std::string& path, const ImportOptions& options)
      : options_(options), sink_(path, options.busy_timeout) {}

  TransferCounts run(std::istream& in) {
    std::string line;
    std::int64_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      const bool truncated = in.eof();  // the last line had no '\n'
      try {
        if (truncated) throw Error(ErrorCode::kInvalidArgument, "truncated (no end of line)");
        take(line);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kInvalidArgument && e.code() != ErrorCode::kFailedPrecondition) {
          throw;
        }
        drop_build();
        report("line " + std::to_string(number) + ": " + e.what());
        if (!options_.skip_bad) return sink_.counts();
      }
    }
    if (open_) {
      drop_build();
      report("line " + std::to_string(number) + ": the input ends before the log text of " +
             pending_name_);
    }
    return sink_.counts();
  }

 private:
  void take(const std::string& line) {
    ParsedLine parsed = parse_line(line);
    if (parsed.is_build) {
      if (open_) {
        drop_build();
        throw Error(ErrorCode::kInvalidArgument,
                    "a build line before the end of the log text of " + pending_name_);
      }
      start(std::move(parsed));
      return;
    }
    if (!open_ && !skipping_) throw Error(ErrorCode::kInvalidArgument, "log text without its build");
    if (skipping_ && !open_) return;
    append(parsed.text);
  }

  void start(ParsedLine parsed) {
    BuildDetail& detail = parsed.build;
    pending_name_ = detail.build.builder + "/" + std::to_string(detail.build.number);
    skipping_ = false;
    // Without its text a log is stored with none.
    if (!parsed.with_text) {
      for (auto& step : detail.steps) {
        for (auto& log : step.logs) log.num_lines = 0;
      }
    }
    expected_.clear();
    for (std::size_t s = 0; s < detail.steps.size(); ++s) {
      for (std::size_t l = 0; l < detail.steps[s].logs.size(); ++l) {
        const LogRecord& log = detail.steps[s].logs[l];
        if (log.num_lines > 0 && !log.purged_at) {  // a purged log has no text lines
          expected_.push_back({s, l, detail.steps[s].step.number, detail.steps[s].logs[l].slug,
                               detail.steps[s].logs[l].num_lines});
        }
      }
    }
    next_ = 0;
    line_in_log_ = 0;
    if (sink_.begin(detail) == BuildSink::Action::kSkip) {
      skipping_ = true;
      return;
    }
    open_ = true;
    finish_if_done();
  }

  void append(const TextRecord& text) {
    if (next_ >= expected_.size()) {
      throw Error(ErrorCode::kInvalidArgument, "more log text than " + pending_name_ + " has");
    }
    const Expected& log = expected_[next_];
    if (text.step != log.step_number || text.slug != log.slug || text.first_line != line_in_log_) {
      throw Error(ErrorCode::kInvalidArgument,
                  "log text out of order: expected step " + std::to_string(log.step_number) +
                      " log " + log.slug + " from line " + std::to_string(line_in_log_));
    }
    if (line_in_log_ + static_cast<std::int64_t>(text.lines.size()) > log.num_lines) {
      throw Error(ErrorCode::kInvalidArgument, "more lines than the log's num_lines");
    }
    chunk_.clear();
    for (const std::string& l : text.lines) {
      if (l.find('\n') != std::string::npos) {
        throw Error(ErrorCode::kInvalidArgument, "a line holds a newline");
      }
      chunk_ += l;
      chunk_ += '\n';
    }
    if (open_) sink_.append(log.step, log.log, chunk_);
    line_in_log_ += static_cast<std::int64_t>(text.lines.size());
    if (line_in_log_ == log.num_lines) {
      ++next_;
      line_in_log_ = 0;
    }
    finish_if_done();
  }

  void finish_if_done() {
    if (next_ < expected_.size()) return;
    if (open_) sink_.commit();
    open_ = false;
    skipping_ = false;
  }

  void drop_build() {
    sink_.abandon();
    open_ = false;
    skipping_ = true;  // its remaining text lines are passed over
  }

  void report(const std::string& line) {
    ++sink_.counts().problems;
    if (options_.problem) options_.problem(line);
  }

  struct Expected {
    std::size_t step = 0;
    std::size_t log = 0;
    int step_number = 0;
    std::string slug;
    std::int64_t num_lines = 0;
  };

  const ImportOptions& options_;
  BuildSink sink_;
  bool open_ = false;
  bool skipping_ = false;
  std::string pending_name_;
  std::vector<Expected> expected_;
  std::size_t next_ = 0;
  std::int64_t line_in_log_ = 0;
  std::string chunk_;
};

}  // namespace

TransferCounts import_jsonl(const std::string& path, std::istream& in,
                            const ImportOptions& options) {
  return JsonlImporter(path, options).run(in);
}

}  // namespace buildhist::transfer
