// The writer's statements: one upsert per row kind, one insert per log chunk.
//
// Rows carry their ids (assigned by the writing process) and foreign keys are
// deferred to the commit, so a group commit may apply rows in any order.
#ifndef BUILDHIST_SQL_STATUS_WRITER_H_
#define BUILDHIST_SQL_STATUS_WRITER_H_

#include <cstdint>
#include <string>
#include <variant>

#include "buildhist/records.h"

namespace buildhist::internal {

class Connection;

struct BuilderRowWrite {
  std::int64_t id = 0;
  std::string name;
};
struct BuildRowWrite {
  std::int64_t id = 0;
  std::int64_t builder_id = 0;
  BuildRecord record;
};
struct PropertyWrite {
  std::int64_t build_id = 0;
  Property property;
};
struct StepRowWrite {
  std::int64_t id = 0;
  std::int64_t build_id = 0;
  StepRecord record;
};
struct LogRowWrite {
  std::int64_t id = 0;
  std::int64_t step_id = 0;
  LogRecord record;
};
struct ChunkWrite {
  std::int64_t log_id = 0;
  std::int64_t first_line = 0;
  std::int64_t last_line = 0;
  std::string text;  // whole lines, each ended by '\n'
};

using RowWrite = std::variant<BuilderRowWrite, BuildRowWrite, PropertyWrite, StepRowWrite,
                              LogRowWrite, ChunkWrite>;

// Applies one row write on `connection`, inside the caller's transaction.
void apply_row_write(Connection& connection, const RowWrite& write);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_STATUS_WRITER_H_
