// grep's SQL: the logs a search selects, in output order, and their chunks.
#ifndef BUILDHIST_SQL_GREP_READER_H_
#define BUILDHIST_SQL_GREP_READER_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "buildhist/grep.h"
#include "util/log_codec.h"

struct ZSTD_DDict_s;

namespace buildhist::internal {

class Connection;

struct GrepLogRow {
  std::int64_t log_id = 0;
  GrepLog log;
};

// The logs with text of the builds `query` selects (builders, times, results,
// step, log), newest builds first, or oldest first when `oldest_first`; within a
// build by step number, then log id. One statement: the sort is over log rows, never over text.
// `query.builders` must name existing builders (the caller checks).
void list_grep_logs(Connection& connection, const GrepQuery& query, bool oldest_first,
                    const std::function<bool(const GrepLogRow&)>& sink);

// One stored chunk; `content` and `dictionary` (the digested dictionary of a
// codec-2 chunk, else nullptr) are valid during the sink's call only.
struct ChunkRow {
  std::int64_t first_line = 0;
  ChunkCodec codec = ChunkCodec::kText;
  std::int64_t raw_bytes = 0;
  std::string_view content;
  const ZSTD_DDict_s* dictionary = nullptr;
};

// The log's chunks in line order, as stored. May run while list_grep_logs' sink
// runs, on the same connection (the same snapshot).
void list_log_chunks(Connection& connection, std::int64_t log_id,
                     const std::function<bool(const ChunkRow&)>& sink);

// How many builders `query` covers: those it names, or every builder.
std::int64_t count_grep_builders(Connection& connection, const GrepQuery& query);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_GREP_READER_H_
