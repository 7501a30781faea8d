// grep's SQL: the builds a search selects, in output order, and the chunks of
// their logs.
#ifndef BUILDHIST_SQL_GREP_READER_H_
#define BUILDHIST_SQL_GREP_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "buildhist/grep.h"
#include "util/chunk_decoder.h"
#include "util/log_codec.h"

namespace buildhist::internal {

class Connection;

struct GrepBuildRow {
  std::int64_t build_id = 0;
  BuildRecord build;
  std::optional<std::string> got_revision;  // the property's JSON text
};

// The builds `query` selects (builders, times, results), newest first, or oldest
// first when `oldest_first`. The sort is over build rows, never over logs or text.
// `query.builders` must name existing builders (the caller checks).
void list_grep_builds(Connection& connection, const GrepQuery& query, bool oldest_first,
                      const std::function<bool(const GrepBuildRow&)>& sink);

// One stored chunk of a log of the build, with its log's fields. `content` is
// valid during the sink's call only. `dictionary` is the digested dictionary of a
// codec-2 chunk (else null), which the sink may keep, for a decoder on another
// thread.
struct GrepChunkRow {
  std::int64_t log_id = 0;
  int step_number = 0;
  std::string step_name;
  std::string slug;
  LogType type = LogType::kStdio;

  std::int64_t first_line = 0;
  ChunkCodec codec = ChunkCodec::kText;
  std::int64_t raw_bytes = 0;
  std::string_view content;
  std::shared_ptr<const DecodingDictionary> dictionary;
};

// The chunks of the logs with text of build `build_id` that `query` selects (step,
// log), by step number, then log id, then line: one statement a build. May run
// while list_grep_builds' sink runs, on the same connection (the same snapshot).
void list_grep_chunks(Connection& connection, std::int64_t build_id, const GrepQuery& query,
                      const std::function<bool(const GrepChunkRow&)>& sink);

// How many builders `query` covers: those it names, or every builder.
std::int64_t count_grep_builders(Connection& connection, const GrepQuery& query);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_GREP_READER_H_
