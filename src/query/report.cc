#include "buildhist/report.h"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "buildhist/error.h"
#include "util/utf8.h"

namespace buildhist {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// One JSON value at a time, each written out as one line.
class JsonLines {
 public:
  explicit JsonLines(std::ostream& out) : out_(out), writer_(buffer_) {}

  JsonWriter& start() {
    buffer_.Clear();
    writer_.Reset(buffer_);
    return writer_;
  }
  void end() {
    out_.write(buffer_.GetString(), static_cast<std::streamsize>(buffer_.GetSize()));
    out_.put('\n');
  }

 private:
  std::ostream& out_;
  rapidjson::StringBuffer buffer_;
  JsonWriter writer_;
};

// JSON is UTF-8, but what a master wrote need not be (a compiler's Latin-1 output,
// a multi-byte character cut in two): JSON strings get U+FFFD for such bytes, so
// that every answer stays valid JSON. Text output keeps the bytes as written.
void string(JsonWriter& json, std::string_view text) {
  std::string scratch;
  text = internal::valid_utf8(text, scratch);
  json.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void key(JsonWriter& json, const char* name) { json.Key(name); }

template <typename Int>
void optional_int(JsonWriter& json, const std::optional<Int>& value) {
  if (value) {
    json.Int64(*value);
  } else {
    json.Null();
  }
}

void results(JsonWriter& json, const std::optional<Results>& value) {
  if (value) {
    string(json, results_name(*value));
  } else {
    json.Null();
  }
}

// The fields of a build that every list prints; the caller closes the object.
void build_fields(JsonWriter& json, const BuildRecord& build) {
  key(json, "builder"), string(json, build.builder);
  key(json, "number"), json.Int(build.number);
  key(json, "results"), results(json, build.results);
  key(json, "state_string"), string(json, build.state_string);
  key(json, "worker"), string(json, build.worker);
  key(json, "started_at"), json.Int64(build.started_at);
  key(json, "complete_at"), optional_int(json, build.complete_at);
}

void log_object(JsonWriter& json, const LogRecord& log) {
  json.StartObject();
  key(json, "slug"), string(json, log.slug);
  key(json, "name"), string(json, log.name);
  key(json, "type"), string(json, std::string_view(reinterpret_cast<const char*>(&log.type), 1));
  key(json, "num_lines"), json.Int64(log.num_lines);
  key(json, "complete"), json.Bool(log.complete);
  key(json, "purged_at"), optional_int(json, log.purged_at);
  json.EndObject();
}

void step_object(JsonWriter& json, const StepDetail& detail) {
  const StepRecord& step = detail.step;
  json.StartObject();
  key(json, "number"), json.Int(step.number);
  key(json, "name"), string(json, step.name);
  key(json, "results"), results(json, step.results);
  key(json, "state_string"), string(json, step.state_string);
  key(json, "started_at"), optional_int(json, step.started_at);
  key(json, "complete_at"), optional_int(json, step.complete_at);
  key(json, "urls");
  json.StartArray();
  for (const Url& url : step.urls) {
    json.StartObject();
    key(json, "name"), string(json, url.name);
    key(json, "url"), string(json, url.url);
    json.EndObject();
  }
  json.EndArray();
  key(json, "hidden"), json.Bool(step.hidden);
  key(json, "logs");
  json.StartArray();
  for (const LogRecord& log : detail.logs) log_object(json, log);
  json.EndArray();
  json.EndObject();
}

// Text columns: pads to a width counted in characters (UTF-8 code points), so that
// names in any script line up as well as a terminal allows.
std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

std::string pad(std::string_view text, std::size_t width) {
  std::string padded(text);
  const std::size_t shown = display_width(text);
  if (shown < width) padded.append(width - shown, ' ');
  return padded;
}

std::string pad_left(std::string_view text, std::size_t width) {
  const std::size_t shown = display_width(text);
  return std::string(shown < width ? width - shown : 0, ' ') + std::string(text);
}

std::string results_text(const std::optional<Results>& value, const char* absent) {
  return value ? std::string(results_name(*value)) : absent;
}

std::string time_text(const std::optional<std::int64_t>& time) {
  return time ? format_time(*time) : "-";
}

// "42s", "3m05s", "2h07m", "3d04h".
std::string duration_text(std::int64_t seconds) {
  char text[32];
  if (seconds < 0) return "-";
  if (seconds < 60) {
    std::snprintf(text, sizeof(text), "%llds", static_cast<long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(text, sizeof(text), "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else if (seconds < 86400) {
    std::snprintf(text, sizeof(text), "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds % 3600 / 60));
  } else {
    std::snprintf(text, sizeof(text), "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds % 86400 / 3600));
  }
  return text;
}

std::string duration_text(const std::optional<std::int64_t>& started,
                          const std::optional<std::int64_t>& complete) {
  return started && complete ? duration_text(*complete - *started) : "-";
}

// The columns of a build in a list; `first` is its number, or its reference.
constexpr std::size_t kResultsWidth = 9;  // "exception", "cancelled"
constexpr std::size_t kTimeWidth = 20;    // "2026-11-22T10:00:00Z"
constexpr std::size_t kDurationWidth = 8;
constexpr std::size_t kWorkerWidth = 12;

std::string build_columns(const std::string& first, std::size_t first_width, bool right,
                          const std::string& results_column, const std::string& started,
                          const std::string& complete, const std::string& duration,
                          const std::string& worker, const std::string& state) {
  return (right ? pad_left(first, first_width) : pad(first, first_width)) + "  " +
         pad(results_column, kResultsWidth) + "  " + pad(started, kTimeWidth) + "  " +
         pad(complete, kTimeWidth) + "  " + pad_left(duration, kDurationWidth) + "  " +
         pad(worker, kWorkerWidth) + "  " + state;
}

std::string build_row(const std::string& first, std::size_t first_width, bool right,
                      const BuildRecord& build) {
  return build_columns(first, first_width, right, results_text(build.results, "running"),
                       format_time(build.started_at), time_text(build.complete_at),
                       duration_text(build.started_at, build.complete_at), build.worker,
                       build.state_string);
}

constexpr std::size_t kNumberWidth = 7;
constexpr std::size_t kReferenceWidth = 24;

// A list of builds written as it streams: JSON Lines, or aligned rows under a header
// written with the first row. The first column is the build's number (one builder's
// builds) or its reference (builds of any builder).
class BuildList {
 public:
  enum class First { kNumber, kReference };

  BuildList(std::ostream& out, Format format, First first)
      : out_(out), format_(format), first_(first), lines_(out) {}

  // Returns whether the output can take more.
  bool add(const BuildRecord& build) {
    if (format_ == Format::kJson) {
      JsonWriter& json = lines_.start();
      json.StartObject();
      build_fields(json, build);
      json.EndObject();
      lines_.end();
      return static_cast<bool>(out_);
    }
    const bool by_number = first_ == First::kNumber;
    const std::size_t width = by_number ? kNumberWidth : kReferenceWidth;
    if (!header_written_) {
      out_ << build_columns(by_number ? "NUMBER" : "BUILD", width, by_number, "RESULTS",
                            "STARTED", "COMPLETED", "DURATION", "WORKER", "STATE")
           << "\n";
      header_written_ = true;
    }
    const std::string first =
        by_number ? std::to_string(build.number)
                  : format_reference(Reference{build.builder, build.number, {}, {}});
    out_ << build_row(first, width, by_number, build) << "\n";
    return static_cast<bool>(out_);
  }

 private:
  std::ostream& out_;
  const Format format_;
  const First first_;
  JsonLines lines_;
  bool header_written_ = false;
};

}  // namespace

void Report::finish_output() {
  out_.flush();
  if (!out_) throw Error(ErrorCode::kIO, "could not write the output");
}

void Report::builders() {
  if (format_ == Format::kJson) {
    JsonLines lines(out_);
    history_.builders([&](const BuilderSummary& builder) {
      JsonWriter& json = lines.start();
      json.StartObject();
      key(json, "name"), string(json, builder.name);
      key(json, "builds"), json.Int64(builder.builds);
      key(json, "newest"), optional_int(json, builder.newest);
      key(json, "results"), results(json, builder.newest_results);
      key(json, "complete_at"), optional_int(json, builder.newest_complete_at);
      json.EndObject();
      lines.end();
      return static_cast<bool>(out_);
    });
    return finish_output();
  }
  // One row a builder, not a build: few enough to size the name column first.
  std::vector<BuilderSummary> all;
  history_.builders([&](const BuilderSummary& builder) {
    all.push_back(builder);
    return true;
  });
  std::size_t width = display_width("BUILDER");
  for (const auto& builder : all) width = std::max(width, display_width(builder.name));
  out_ << pad("BUILDER", width) << "  " << pad_left("BUILDS", 8) << "  "
       << pad_left("NEWEST", kNumberWidth) << "  " << pad("RESULTS", kResultsWidth)
       << "  COMPLETED\n";
  for (const auto& builder : all) {
    out_ << pad(builder.name, width) << "  " << pad_left(std::to_string(builder.builds), 8)
         << "  " << pad_left(builder.newest ? std::to_string(*builder.newest) : "-", kNumberWidth)
         << "  "
         << pad(builder.newest ? results_text(builder.newest_results, "running") : "-",
                kResultsWidth)
         << "  " << time_text(builder.newest_complete_at) << "\n";
  }
  finish_output();
}

void Report::builds(std::string_view builder, const BuildFilter& filter) {
  BuildList list(out_, format_, BuildList::First::kNumber);
  history_.builds(builder, filter, [&](const BuildRecord& build) { return list.add(build); });
  finish_output();
}

void Report::find(std::string_view name, std::string_view value,
                  std::optional<std::string_view> builder) {
  BuildList list(out_, format_, BuildList::First::kReference);
  history_.find_by_property(name, value, builder,
                            [&](const BuildRecord& build) { return list.add(build); });
  finish_output();
}

void Report::show(std::string_view builder, int number) {
  const BuildDetail detail = history_.show(builder, number);
  const BuildRecord& build = detail.build;
  if (format_ == Format::kJson) {
    JsonLines lines(out_);
    JsonWriter& json = lines.start();
    json.StartObject();
    build_fields(json, build);
    key(json, "properties");
    json.StartObject();
    for (const Property& property : detail.properties) {
      std::string name_scratch, value_scratch;
      const std::string_view name = internal::valid_utf8(property.name, name_scratch);
      json.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
      // The stored value is JSON text: written as the value it is, not as a string.
      // Bytes that are not UTF-8 can only be inside its strings, where U+FFFD may be.
      const std::string_view value = internal::valid_utf8(property.value, value_scratch);
      json.RawValue(value.data(), value.size(), rapidjson::kObjectType);
    }
    json.EndObject();
    key(json, "steps");
    json.StartArray();
    for (const StepDetail& step : detail.steps) step_object(json, step);
    json.EndArray();
    json.EndObject();
    lines.end();
    return finish_output();
  }

  out_ << format_reference(Reference{build.builder, build.number, {}, {}}) << "\n"
       << "  results    " << results_text(build.results, "running") << "\n"
       << "  state      " << build.state_string << "\n"
       << "  worker     " << build.worker << "\n"
       << "  started    " << format_time(build.started_at) << "\n"
       << "  completed  " << time_text(build.complete_at);
  if (build.complete_at) out_ << " (" << duration_text(*build.complete_at - build.started_at) << ")";
  out_ << "\n";

  if (!detail.properties.empty()) {
    std::size_t name_width = 0, value_width = 0;
    for (const Property& property : detail.properties) {
      name_width = std::max(name_width, display_width(property.name));
      value_width = std::max(value_width, display_width(property.value));
    }
    out_ << "properties\n";
    for (const Property& property : detail.properties) {
      out_ << "  " << pad(property.name, name_width) << "  " << pad(property.value, value_width)
           << "  " << property.source << "\n";
    }
  }

  if (!detail.steps.empty()) {
    std::size_t name_width = display_width("NAME");
    for (const StepDetail& step : detail.steps) {
      name_width = std::max(name_width, display_width(step.step.name));
    }
    out_ << "steps\n"
         << "  " << pad_left("#", 3) << "  " << pad("NAME", name_width) << "  "
         << pad("RESULTS", kResultsWidth) << "  " << pad("STARTED", kTimeWidth) << "  "
         << pad_left("DURATION", kDurationWidth) << "  STATE\n";
    for (const StepDetail& detail_step : detail.steps) {
      const StepRecord& step = detail_step.step;
      const char* absent = step.started_at ? "running" : "pending";
      out_ << "  " << pad_left(std::to_string(step.number), 3) << "  " << pad(step.name, name_width)
           << "  " << pad(results_text(step.results, absent), kResultsWidth) << "  "
           << pad(time_text(step.started_at), kTimeWidth) << "  "
           << pad_left(duration_text(step.started_at, step.complete_at), kDurationWidth) << "  "
           << step.state_string << (step.hidden ? " (hidden)" : "") << "\n";
      for (const LogRecord& log : detail_step.logs) {
        out_ << "  " << std::string(3, ' ') << "  log " << log.slug << ": " << log.name << ", "
             << static_cast<char>(log.type) << ", " << log.num_lines << " lines"
             << (log.complete ? "" : ", open")
             << (log.purged_at ? ", text purged " + format_time(*log.purged_at) : "") << "\n";
      }
      for (const Url& url : step.urls) {
        out_ << "  " << std::string(3, ' ') << "  url " << url.name << ": " << url.url << "\n";
      }
    }
  }
  finish_output();
}

std::optional<std::string> Report::log(const Reference& reference, std::int64_t from,
                                       std::int64_t limit, bool follow) {
  const LogDetail log = history_.find_log(reference);
  if (log.log.purged_at) {
    return "the text of log " + format_reference(log.reference) + " (" +
           std::to_string(log.log.num_lines) + " lines) was purged by compact at " +
           format_time(*log.log.purged_at);
  }
  const bool stdio = log.log.type == LogType::kStdio;
  JsonLines lines(out_);
  const auto sink = [&](const LogLine& line) {
    std::string_view text = line.text;
    std::string_view stream;
    if (stdio && !text.empty()) {
      stream = text.substr(0, 1);
      text.remove_prefix(1);
    }
    if (format_ == Format::kJson) {
      JsonWriter& json = lines.start();
      json.StartObject();
      key(json, "line"), json.Int64(line.number);
      key(json, "text"), string(json, text);
      if (stdio) key(json, "stream"), string(json, stream);
      json.EndObject();
      lines.end();
    } else {
      out_.write(text.data(), static_cast<std::streamsize>(text.size()));
      out_.put('\n');
    }
    // Someone watching a running build sees each line as it comes.
    if (follow) out_.flush();
    return static_cast<bool>(out_);
  };
  if (follow) {
    history_.follow_log(log, from, sink);
  } else {
    history_.read_log(log, from, limit, sink);
  }
  finish_output();
  return std::nullopt;
}

void Report::stats() {
  const StoreStats stats = history_.stats();
  if (format_ == Format::kJson) {
    JsonLines lines(out_);
    JsonWriter& json = lines.start();
    json.StartObject();
    key(json, "schema_version"), json.Int(stats.schema_version);
    key(json, "rows");
    json.StartObject();
    for (const auto& [table, rows] : stats.rows) key(json, table.c_str()), json.Int64(rows);
    json.EndObject();
    key(json, "bytes_on_disk"), json.Int64(stats.db_bytes + stats.wal_bytes);
    key(json, "db_bytes"), json.Int64(stats.db_bytes);
    key(json, "wal_bytes"), json.Int64(stats.wal_bytes);
    key(json, "log_raw_bytes"), json.Int64(stats.log_raw_bytes);
    key(json, "log_stored_bytes"), json.Int64(stats.log_stored_bytes);
    key(json, "log_compression_ratio"), json.Double(stats.log_compression_ratio);
    key(json, "purged_logs"), json.Int64(stats.purged_logs);
    key(json, "dictionary_bytes"), json.Int64(stats.dictionary_bytes);
    json.EndObject();
    lines.end();
    return finish_output();
  }
  const std::size_t width = 16;
  out_ << pad("schema version", width) << "  " << stats.schema_version << "\n" << "rows\n";
  for (const auto& [table, rows] : stats.rows) {
    out_ << "  " << pad(table, width - 2) << "  " << pad_left(std::to_string(rows), 12) << "\n";
  }
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%.2f", stats.log_compression_ratio);
  out_ << pad("bytes on disk", width) << "  " << stats.db_bytes + stats.wal_bytes << " (database "
       << stats.db_bytes << ", wal " << stats.wal_bytes << ")\n"
       << pad("log text", width) << "  " << stats.log_raw_bytes << " bytes raw, "
       << stats.log_stored_bytes << " stored, ratio " << ratio << "\n"
       << pad("purged logs", width) << "  " << stats.purged_logs << "\n"
       << pad("dictionaries", width) << "  " << stats.dictionary_bytes << " bytes\n";
  finish_output();
}

std::size_t Report::check() {
  std::vector<Problem> problems;  // at most a few per kind: History::check bounds them
  const std::size_t found = history_.check([&](const Problem& problem) {
    if (format_ == Format::kJson) {
      problems.push_back(problem);
    } else {
      out_ << problem.where << ": " << problem.what << "\n";
    }
  });
  if (format_ == Format::kJson) {
    JsonLines lines(out_);
    JsonWriter& json = lines.start();
    json.StartObject();
    key(json, "ok"), json.Bool(found == 0);
    key(json, "problems");
    json.StartArray();
    for (const Problem& problem : problems) {
      json.StartObject();
      key(json, "where"), string(json, problem.where);
      key(json, "what"), string(json, problem.what);
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    lines.end();
  } else if (found == 0) {
    out_ << "ok: no problems found\n";
  } else {
    out_ << found << (found == 1 ? " problem" : " problems") << " found\n";
  }
  finish_output();
  return found;
}

}  // namespace buildhist
