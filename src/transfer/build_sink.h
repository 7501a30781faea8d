// A store as the destination of an import: whole builds, one transaction each.
//
// begin() decides what to do with an incoming build by its builder and number:
// absent from the store, it is written; present and identical, it is skipped (so
// that running an import again changes nothing); present but running or with a
// log not complete, and the same build (same start time and worker), it is
// replaced by the incoming one (a build that has since finished, a log that grew);
// anything else is refused. Between begin() and commit() the caller streams the
// build's log text; a crash or an error before commit() leaves nothing of it.
//
// Incoming builds keep their numbers, so a master numbering the same builder in
// memory meanwhile would give one of them again and fail its commit: begin() first
// makes the builder's numbering shared (asking that master to hand it over, and
// waiting), so that every process numbers it through the database from then on.
//
// Opening: the store is created or migrated by Store::open and closed again; the
// sink then holds a read-only Store (to compare builds through History) and one
// writer connection of its own, so that a process never has two writers. A
// BuildSink is used by one thread at a time.
#ifndef BUILDHIST_TRANSFER_BUILD_SINK_H_
#define BUILDHIST_TRANSFER_BUILD_SINK_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/history.h"
#include "buildhist/store.h"
#include "sql/transfer_writer.h"

namespace buildhist::transfer {

// What an import did, for its summary line.
struct TransferCounts {
  std::int64_t builders = 0;  // builders that received builds
  std::int64_t builds = 0;    // written (new or replaced)
  std::int64_t skipped = 0;   // already in the store, identical
  std::int64_t steps = 0;
  std::int64_t logs = 0;
  std::int64_t lines = 0;
  std::int64_t bytes = 0;     // of log text
  std::int64_t problems = 0;  // refused builds, undecodable chunks, bad lines
};

// Property values are stored as compact JSON (what RapidJSON's Writer prints), so
// that the same value compares equal whoever wrote it. Throws Error(kInvalidArgument)
// when `json` is not one JSON value.
std::string canonical_json(std::string_view json);

class BuildSink {
 public:
  // Throws Error as Store::open does.
  BuildSink(const std::string& path, std::chrono::milliseconds busy_timeout);
  ~BuildSink();

  enum class Action { kWrite, kSkip };

  // REQUIRES: no build begun. `build` is what the store should hold once every
  // line is appended (properties by name, steps by number, num_lines as given).
  // kWrite: the transaction is open, the rows are in, the logs have no lines yet.
  // Throws Error(kFailedPrecondition) when the store holds another build under
  // that number (nothing changed).
  Action begin(const BuildDetail& build);

  // Appends whole lines, each ended by '\n', to log `log` of step `step` (indices
  // into begin()'s build.steps and their logs).
  void append(std::size_t step, std::size_t log, std::string_view lines);

  // The log will not be complete (its text could not all be read).
  void mark_incomplete(std::size_t step, std::size_t log);

  // Sets each log's lines and completeness and commits. Throws Error; on a throw
  // nothing of the build is kept.
  void commit();

  // Drops the build begun. Never throws; a no-op when none is begun.
  void abandon() noexcept;

  // For an incremental import: the builder's newest number in the store, and the
  // numbers of its builds the store has as running or with a log not complete.
  std::optional<int> newest_number(std::string_view builder);
  std::vector<int> unfinished_numbers(std::string_view builder);

  const TransferCounts& counts() const noexcept { return counts_; }
  TransferCounts& counts() noexcept { return counts_; }

 private:
  struct OpenLog {
    std::int64_t id = 0;
    std::int64_t lines = 0;
    std::int64_t expected = 0;
    bool complete = false;
    bool purged = false;  // its lines are counted, not imported
  };

  // Opens the build's transaction with its builder's numbering shared (see
  // sql/numbering.h): returns the builder's id. Throws Error(kBusy) when the process
  // that numbers the builder does not hand it over in time.
  std::int64_t begin_numbered(const BuildRecord& record);

  std::string path_;
  std::chrono::milliseconds busy_timeout_;
  std::unique_ptr<Store> reader_store_;
  History history_;
  internal::TransferWriter writer_;
  std::vector<std::vector<OpenLog>> logs_;  // of the build begun, by step and log
  bool begun_ = false;
  std::vector<std::string> builders_written_;
  TransferCounts counts_;
};

}  // namespace buildhist::transfer

#endif  // BUILDHIST_TRANSFER_BUILD_SINK_H_
