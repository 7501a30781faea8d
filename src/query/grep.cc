// History::grep: the SQL rows in output order, each log's chunks decoded one at a
// time and handed to the search.
#include <string>

#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/store.h"
#include "query/grep_matcher.h"
#include "query/grep_search.h"
#include "sql/grep_reader.h"
#include "sql/status_reader.h"
#include "store/store_access.h"
#include "util/chunk_decoder.h"

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
  internal::GrepSearch search(query, matcher, sink,
                              internal::count_grep_builders(*reader, query));
  internal::ChunkDecoder decoder;
  internal::list_grep_logs(
      *reader, query, query.pick == GrepQuery::Pick::kFirst,
      [&](const internal::GrepLogRow& row) {
        if (!search.wants(row.log_id, row.log)) return !search.done();
        search.begin_log(row.log_id, row.log);
        internal::list_log_chunks(*reader, row.log_id, [&](const internal::ChunkRow& chunk) {
          return search.chunk(chunk.first_line,
                              decoder.decode(chunk.codec, chunk.content, chunk.raw_bytes,
                                             chunk.dictionary));
        });
        search.end_log();
        return !search.done();
      });
  return search.summary();
}

}  // namespace buildhist
