// Reading a buildbot master's SQLite database (buildbot 3.x and 4.x), opened
// read-only: nothing here ever writes to it, and it may be read while that master
// runs. Rows are streamed to sinks as SQLite steps them; log chunks come back as
// stored (still compressed), for the transfer layer to decode.
//
// A BuildbotReader is used by one thread at a time. Every failure is a
// buildhist::Error naming the database and what was being read.
#ifndef BUILDHIST_SQL_BUILDBOT_READER_H_
#define BUILDHIST_SQL_BUILDBOT_READER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/connection.h"

namespace buildhist::internal {

struct BuildbotBuilder {
  std::int64_t id = 0;
  std::string name;
};

struct BuildbotBuild {
  std::int64_t id = 0;
  int number = 0;
  std::string worker;  // empty for a build without a worker
  std::int64_t started_at = 0;
  std::optional<std::int64_t> complete_at;
  std::string state_string;
  std::optional<int> results;
};

struct BuildbotProperty {
  std::string name;
  std::string value;  // JSON text, as buildbot wrote it
  std::string source;
};

struct BuildbotStep {
  std::int64_t id = 0;
  int number = 0;
  std::string name;
  std::optional<std::int64_t> started_at;
  std::optional<std::int64_t> complete_at;
  std::string state_string;
  std::optional<int> results;
  std::string urls_json;
  bool hidden = false;
};

struct BuildbotLog {
  std::int64_t id = 0;
  std::string name;
  std::string slug;
  char type = 's';  // 's', 't', 'h', or 'd' for a log whose chunks buildbot deleted
  std::int64_t num_lines = 0;
  bool complete = false;
};

// One row of logchunks: lines first_line..last_line joined by '\n' without a
// trailing one, compressed with buildbot's code `compressed`.
struct BuildbotChunk {
  std::int64_t first_line = 0;
  std::int64_t last_line = 0;
  int compressed = 0;
  std::string_view content;  // valid only during the sink call
};

class BuildbotReader {
 public:
  // Opens `path` read-only and checks that it is a buildbot database of a schema
  // this reader knows (alembic_version 059 to 067: buildbot 3.7 to 4.3) with every
  // table and column it reads. Throws Error(kCorrupt) naming the version, table or
  // column that is wrong, Error(kIO) for a file that cannot be opened.
  BuildbotReader(const std::string& path, std::chrono::milliseconds busy_timeout);

  const std::string& schema_version() const noexcept { return version_; }

  // Builders by id, optionally the one named `only`.
  std::vector<BuildbotBuilder> builders(std::optional<std::string_view> only);

  // The builder's builds numbered above `after`, by number; `sink` returns false to stop.
  void builds_after(std::int64_t builder_id, int after,
                    const std::function<bool(const BuildbotBuild&)>& sink);
  std::optional<BuildbotBuild> build(std::int64_t builder_id, int number);

  std::vector<BuildbotProperty> properties(std::int64_t build_id);
  std::vector<BuildbotStep> steps(std::int64_t build_id);
  std::vector<BuildbotLog> logs(std::int64_t step_id);

  // The log's chunks by first line.
  void chunks(std::int64_t log_id, const std::function<void(const BuildbotChunk&)>& sink);

  // Ends the read transaction an unfinished statement holds, so that the next
  // read sees what the master has committed since.
  void release() noexcept { connection_.reset_statements(); }

 private:
  void check_schema();

  Connection connection_;
  std::string version_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_BUILDBOT_READER_H_
