// The writer's statements: one insert and one update per row kind, one insert per
// log chunk, and the group commit that applies a batch of them.
//
// Row ids are the database's: a row's first write inserts it without an id and
// stores the id SQLite gives it into the object's RowId; later writes update it by
// that id. So any number of processes may write one store without colliding.
// Foreign keys are deferred to the commit; a batch applies rows in queue order,
// which always writes a parent before its children.
#ifndef BUILDHIST_SQL_STATUS_WRITER_H_
#define BUILDHIST_SQL_STATUS_WRITER_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "buildhist/records.h"
#include "buildhist/status.h"

namespace buildhist::internal {

class Connection;

struct BuildRowWrite {
  RowId* id = nullptr;
  std::int64_t builder_id = 0;
  BuildRecord record;
};
struct PropertyWrite {
  RowId* build_id = nullptr;
  Property property;
};
struct StepRowWrite {
  RowId* id = nullptr;
  RowId* build_id = nullptr;
  StepRecord record;
};
struct LogRowWrite {
  RowId* id = nullptr;
  RowId* step_id = nullptr;
  LogRecord record;
};
struct ChunkWrite {
  RowId* log_id = nullptr;
  std::int64_t first_line = 0;
  std::int64_t last_line = 0;
  std::string text;  // whole lines, each ended by '\n'
};
// This process hands the numbering of a builder over to the database (see
// sql/numbering.h); queued after the builds it numbered, so it commits after them.
struct NumberingRelease {
  std::int64_t builder_id = 0;
  std::string holder;
};

// Every RowId a write points at belongs to an object its queued write pins, so it
// outlives the write.
using RowWrite = std::variant<BuildRowWrite, PropertyWrite, StepRowWrite, LogRowWrite,
                              ChunkWrite, NumberingRelease>;

// Applies `rows` in order in one IMMEDIATE transaction, then returns the builders
// whose numbering another process asked `holder` for (empty holder: none asked).
// On failure nothing is committed, ids assigned in the attempt are reset, and the
// SQLite exception propagates (the caller decides whether to retry).
std::vector<std::int64_t> commit_rows(Connection& connection,
                                      const std::vector<const RowWrite*>& rows,
                                      const std::string& holder);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_STATUS_WRITER_H_
