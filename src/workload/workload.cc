#include "workload/workload.h"

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>

namespace buildhist::workload {

namespace {

constexpr std::int64_t kEpoch = 1700000000;
constexpr std::int64_t kStepSeconds = 5;
constexpr std::array<const char*, 8> kStepNames = {
    "git", "configure", "compile", "test", "lint", "package", "upload", "cleanup"};
constexpr std::array<const char*, 6> kModules = {"net", "core", "parser", "storage", "ui", "util"};
constexpr std::array<const char*, 6> kFiles = {"socket", "buffer", "lexer", "table", "widget",
                                               "string"};

// splitmix64: small, fast, and good enough to make varied text.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int below(int bound) { return static_cast<int>(next() % static_cast<std::uint64_t>(bound)); }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }

 private:
  std::uint64_t state_;
};

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  return Random(a * 0x100000001b3ULL ^ (b + 0x9e3779b97f4a7c15ULL)).next();
}

Random random_for(const Shape& shape, int builder_index, int number, int step_index = -1) {
  return Random(mix(mix(mix(shape.seed, static_cast<std::uint64_t>(builder_index)),
                        static_cast<std::uint64_t>(number)),
                    static_cast<std::uint64_t>(step_index + 1)));
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

std::string step_name(int index) {
  const int round = index / static_cast<int>(kStepNames.size());
  std::string name = kStepNames[static_cast<std::size_t>(index) % kStepNames.size()];
  return round == 0 ? name : name + "_" + std::to_string(round + 1);
}

__attribute__((format(printf, 1, 2))) std::string format(const char* pattern, ...) {
  char line[256];
  va_list args;
  va_start(args, pattern);
  std::vsnprintf(line, sizeof(line), pattern, args);
  va_end(args);
  return line;
}

std::string log_line(Random& random, int line, int lines) {
  if (line == 0) return format("hargv: ['make', '-j%d', 'all']", 2 + random.below(15));
  const char* module = kModules[static_cast<std::size_t>(random.below(kModules.size()))];
  const char* file = kFiles[static_cast<std::size_t>(random.below(kFiles.size()))];
  switch (random.below(10)) {
    case 0:
      return format("ewarning: unused variable 'tmp_%d' [-Wunused-variable]", random.below(20));
    case 1:
    case 2:
    case 3:
      return format("o test_%s_%04d ... ok (0.%03ds)", module, random.below(1000),
                    random.below(1000));
    default:
      return format("o[%3d/%d] Building CXX object src/%s/CMakeFiles/%s.dir/%s_%d.cpp.o",
                    line, lines, module, module, file, random.below(40));
  }
}

}  // namespace

std::string builder_name(const Shape& shape, int builder_index) {
  int width = 2;
  for (int limit = 100; shape.builders > limit; limit *= 10) ++width;
  return format("builder-%0*d", width, builder_index);
}

PlannedBuild plan_build(const Shape& shape, int builder_index, int number) {
  Random random = random_for(shape, builder_index, number);
  PlannedBuild build;
  build.builder = builder_name(shape, builder_index);
  build.number = number;
  build.worker = "worker-" + std::to_string(number % 4);
  build.started_at =
      kEpoch + (static_cast<std::int64_t>(number - 1) * shape.builders + builder_index) * 60;

  const double draw = random.unit();
  build.results = draw < 0.90   ? Results::kSuccess
                  : draw < 0.95 ? Results::kWarnings
                  : draw < 0.99 ? Results::kFailure
                                : Results::kException;
  // A failure (or exception) is one step; the steps after it are skipped.
  const int marked = shape.steps > 0 ? random.below(shape.steps) : 0;
  for (int index = 0; index < shape.steps; ++index) {
    PlannedStep step;
    step.name = step_name(index);
    step.started_at = build.started_at + index * kStepSeconds;
    step.complete_at = step.started_at + kStepSeconds;
    if (index == marked && build.results != Results::kSuccess) {
      step.results = build.results;
    } else if (index > marked && (build.results == Results::kFailure ||
                                  build.results == Results::kException)) {
      step.results = Results::kSkipped;
    }
    build.steps.push_back(step);
  }
  build.complete_at = build.started_at + shape.steps * kStepSeconds;

  char revision[41];
  std::snprintf(revision, sizeof(revision), "%016llx%016llx%08llx",
                static_cast<unsigned long long>(random.next()),
                static_cast<unsigned long long>(random.next()),
                static_cast<unsigned long long>(random.next() & 0xffffffffULL));
  build.properties = {
      {"buildername", quoted(build.builder), "Builder"},
      {"got_revision", quoted(revision), "Git"},
      {"workername", quoted(build.worker), "Worker"},
  };
  return build;
}

std::vector<std::string> log_pieces(const Shape& shape, int builder_index, int number,
                                    int step_index) {
  Random random = random_for(shape, builder_index, number, step_index);
  const int pieces = std::max(1, std::min(shape.appends, std::max(shape.log_lines, 1)));
  std::vector<std::string> result(static_cast<std::size_t>(pieces));
  int line = 0;
  for (int piece = 0; piece < pieces; ++piece) {
    const int count = shape.log_lines / pieces + (piece < shape.log_lines % pieces ? 1 : 0);
    for (int i = 0; i < count; ++i, ++line) {
      result[static_cast<std::size_t>(piece)] += log_line(random, line, shape.log_lines) + "\n";
    }
  }
  return result;
}

std::uint64_t write_build(Store& store, const Shape& shape, int builder_index, int number) {
  const PlannedBuild plan = plan_build(shape, builder_index, number);
  BuildStart start;
  start.worker = plan.worker;
  start.started_at = plan.started_at;
  start.state_string = "building";
  start.properties = plan.properties;
  std::uint64_t lines = 0;
  auto build = store.start_build(plan.builder, start);
  for (std::size_t index = 0; index < plan.steps.size(); ++index) {
    const PlannedStep& planned = plan.steps[index];
    auto step = build->add_step(planned.name, planned.started_at);
    auto log = step->add_log("stdio", LogType::kStdio);
    for (const std::string& piece :
         log_pieces(shape, builder_index, number, static_cast<int>(index))) {
      log->append(piece);
    }
    log->finish();
    lines += static_cast<std::uint64_t>(log->record().num_lines);
    step->set_state_string(std::string(results_name(planned.results)));
    step->finish(planned.results, planned.complete_at);
  }
  build->set_state_string(std::string(results_name(plan.results)));
  build->finish(plan.results, plan.complete_at, shape.durability);
  return lines;
}

}  // namespace buildhist::workload
