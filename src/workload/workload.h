// The reference workload of WORKLOAD.md: what a busy buildbot-like master writes.
//
// Every random choice is drawn from a generator seeded by (seed, builder, build
// [, step]), so the same seed gives the same content whatever the threads' order.
#ifndef BUILDHIST_CLI_WORKLOAD_H_
#define BUILDHIST_CLI_WORKLOAD_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/records.h"
#include "buildhist/results.h"
#include "buildhist/store.h"

namespace buildhist::workload {

struct Shape {
  int builders = 10;
  int builds = 1000;  // per builder
  int steps = 8;      // per build
  int log_lines = 50;
  int appends = 5;    // pieces each log is appended in
  std::uint64_t seed = 1;
  // How durable each build's last write is: kImmediate makes every build wait for
  // its own commit (a master that promises each finished build survives a crash).
  Durability durability = Durability::kBuffered;

  // Trends for `buildhist trends` and `flaky` to find. All off by default: the
  // reference workload is then exactly WORKLOAD.md's, build for build.
  int slowdown = 0;       // compile takes 1 s more every this many builds (0: never), at most +300 s
  double flaky = 0;       // test fails with this probability; builds 2k-1 and 2k share a revision
  int regression_at = 0;  // from this build number on, lint fails (0: never)
};

// "slowdown=N,flaky=P,regression=N" (any of them, in any order) into `shape`; throws
// std::invalid_argument saying what is malformed.
void parse_trends(std::string_view text, Shape& shape);

struct PlannedStep {
  std::string name;
  Results results = Results::kSuccess;
  std::int64_t started_at = 0;
  std::int64_t complete_at = 0;
};

struct PlannedBuild {
  std::string builder;
  int number = 0;
  std::string worker;
  std::int64_t started_at = 0;
  std::int64_t complete_at = 0;
  Results results = Results::kSuccess;
  std::vector<Property> properties;  // sorted by name
  std::vector<PlannedStep> steps;
};

// "builder-00", "builder-01", ...: two digits, more if needed.
std::string builder_name(const Shape& shape, int builder_index);

PlannedBuild plan_build(const Shape& shape, int builder_index, int number);

// The stdio log of a step as the pieces it is appended in; the pieces' lines total
// shape.log_lines, split as evenly as possible.
std::vector<std::string> log_pieces(const Shape& shape, int builder_index, int number,
                                    int step_index);

// Calls `piece_ready` with each of the pieces log_pieces() returns, in order, one
// at a time: a log of any length costs the memory of one piece.
void for_each_log_piece(const Shape& shape, int builder_index, int number, int step_index,
                        const std::function<void(const std::string&)>& piece_ready);

// Writes build `number` of builder `builder_index` through the public API as a
// master does: start it, add each step with its stdio log appended in pieces,
// finish the log and the step, finish the build. The build is dropped at the end,
// as a master drops it. Returns the log lines written. simulate and the benchmarks
// share it, so they measure the same calls. Throws what the Store throws.
std::uint64_t write_build(Store& store, const Shape& shape, int builder_index, int number);

}  // namespace buildhist::workload

#endif  // BUILDHIST_CLI_WORKLOAD_H_
