#include "buildhist/history.h"

#include <thread>

#include "buildhist/error.h"
#include "buildhist/status.h"
#include "buildhist/store.h"
#include "util/file_size.h"
#include "util/json_text.h"
#include "util/quoted.h"
#include "sql/history_reader.h"
#include "sql/migrations.h"
#include "sql/status_reader.h"
#include "store/store_access.h"

namespace buildhist {

namespace {

[[noreturn]] void not_found(const std::string& what) { throw Error(ErrorCode::kNotFound, what); }

std::string build_name(std::string_view builder, int number) {
  return format_reference(Reference{std::string(builder), number, {}, {}});
}

std::int64_t builder_id(internal::Connection& connection, std::string_view builder) {
  const auto row = internal::find_builder(connection, builder);
  if (!row) not_found("no builder named " + internal::quoted(builder));
  return row->id;
}

}  // namespace

void History::builders(const std::function<bool(const BuilderSummary&)>& sink) {
  auto reader = internal::StoreAccess::impl(store_).reader();
  internal::list_builders(*reader, sink);
}

void History::builds(std::string_view builder, const BuildFilter& filter,
                     const std::function<bool(const BuildRecord&)>& sink) {
  if (filter.limit < 0) throw Error(ErrorCode::kInvalidArgument, "a limit must be 0 or more");
  if (filter.before && *filter.before < 1) {
    throw Error(ErrorCode::kInvalidArgument, "build numbers start at 1");
  }
  auto reader = internal::StoreAccess::impl(store_).reader();
  internal::list_builds(*reader, builder_id(*reader, builder), builder, filter, sink);
}

BuildDetail History::show(std::string_view builder, int number) {
  const auto build = store_.build(builder, number);
  if (!build) {
    auto reader = internal::StoreAccess::impl(store_).reader();
    builder_id(*reader, builder);  // says which part is missing
    not_found("no build " + build_name(builder, number));
  }
  BuildDetail detail{build->record(), build->properties(), {}};
  for (const auto& step : build->steps()) {
    StepDetail& step_detail = detail.steps.emplace_back(StepDetail{step->record(), {}});
    for (const auto& log : step->logs()) step_detail.logs.push_back(log->record());
  }
  return detail;
}

LogDetail History::find_log(const Reference& reference) {
  if (!reference.step || !reference.log) {
    throw Error(ErrorCode::kInvalidArgument,
                "a log reference is BUILDER/NUMBER/STEP/LOG, not " + format_reference(reference));
  }
  auto reader = internal::StoreAccess::impl(store_).reader();
  const std::int64_t id = builder_id(*reader, reference.builder);
  const auto row =
      internal::find_log_row(*reader, id, reference.number, *reference.step, *reference.log);
  if (!row) {
    Reference missing = reference;
    if (!internal::load_build_row(*reader, id, reference.builder, reference.number)) {
      not_found("no build " + build_name(reference.builder, reference.number));
    }
    missing.log.reset();
    if (!internal::step_exists(*reader, id, reference.number, *reference.step)) {
      not_found("no step " + format_reference(missing));
    }
    not_found("no log " + format_reference(reference));
  }
  LogDetail detail;
  detail.id = row->id;
  detail.reference = Reference{reference.builder, reference.number,
                               StepSelector{row->step_number, {}}, row->record.slug};
  detail.step_name = row->step_name;
  detail.log = row->record;
  return detail;
}

void History::read_log(const LogDetail& log, std::int64_t from, std::int64_t limit,
                       const std::function<bool(const LogLine&)>& sink) {
  if (from < 0 || limit < 0) {
    throw Error(ErrorCode::kInvalidArgument, "a log's lines are read from line 0, limit 0 or more");
  }
  auto reader = internal::StoreAccess::impl(store_).reader();
  internal::read_log_lines(*reader, log.id, from, limit, sink);
}

void History::follow_log(const LogDetail& log, std::int64_t from,
                         const std::function<bool(const LogLine&)>& sink,
                         std::chrono::milliseconds poll) {
  if (from < 0) throw Error(ErrorCode::kInvalidArgument, "a log's lines are read from line 0");
  auto reader = internal::StoreAccess::impl(store_).reader();
  std::int64_t next = from;
  bool more = true;
  const auto forward = [&](const LogLine& line) {
    next = line.number + 1;
    more = sink(line);
    return more;
  };
  for (;;) {
    // The state first: when it says complete, every line was committed before it,
    // so the read that follows sees them all.
    const std::int64_t version = internal::data_version(*reader);
    const auto state = internal::read_log_state(*reader, log.id);
    if (!state) not_found("the log " + format_reference(log.reference) + " was deleted");
    if (state->num_lines > next) internal::read_log_lines(*reader, log.id, next, 0, forward);
    if (!more || state->complete || state->build_complete) return;
    // Nothing to do until another connection commits. The statements are reset
    // before each pause, so that a waiting follower holds no snapshot that a
    // checkpoint would have to wait for.
    do {
      reader->reset_statements();
      std::this_thread::sleep_for(poll);
    } while (internal::data_version(*reader) == version);
  }
}

void History::find_by_property(std::string_view name, std::string_view value,
                               std::optional<std::string_view> builder,
                               const std::function<bool(const BuildRecord&)>& sink) {
  if (name.empty()) throw Error(ErrorCode::kInvalidArgument, "a property name is empty");
  auto reader = internal::StoreAccess::impl(store_).reader();
  std::optional<std::int64_t> id;
  if (builder) id = builder_id(*reader, *builder);
  const std::string as_string = internal::json_quote(value);
  const std::string as_json = internal::is_json_value(value) ? std::string(value) : as_string;
  internal::list_builds_by_property(*reader, name, as_json, as_string, id, sink);
}

StoreStats History::stats() {
  auto reader = internal::StoreAccess::impl(store_).reader();
  StoreStats stats = internal::read_store_counts(*reader);
  const auto info = internal::read_schema_info(*reader);
  stats.schema_version = info ? info->version : 0;
  stats.db_bytes = internal::file_size_or_zero(store_.path());
  stats.wal_bytes = internal::file_size_or_zero(store_.path() + "-wal");
  if (stats.log_stored_bytes > 0) {
    stats.log_compression_ratio = static_cast<double>(stats.log_raw_bytes) /
                                  static_cast<double>(stats.log_stored_bytes);
  }
  return stats;
}

std::size_t History::check(const std::function<void(const Problem&)>& sink) {
  auto reader = internal::StoreAccess::impl(store_).reader();
  return internal::check_store(*reader, sink);
}

}  // namespace buildhist
