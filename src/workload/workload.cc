#include "workload/workload.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <stdexcept>

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

// Appends `value` (not negative) in at least `width` characters, padded on the
// left with `pad`: printf's %d, %3d and %04d without parsing a format.
void append_number(std::string& out, int value, int width = 0, char pad = ' ') {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  const int length = static_cast<int>(end - digits);
  if (length < width) out.append(static_cast<std::size_t>(width - length), pad);
  out.append(digits, end);
}

// Appends one line of a stdio log and its newline to `out`. The draws are taken
// in a fixed order (the order in which GCC evaluated the arguments of the printf
// calls this replaces, last first, so that the text is what it always was).
void append_log_line(std::string& out, Random& random, int line, int lines) {
  if (line == 0) {
    out += "hargv: ['make', '-j";
    append_number(out, 2 + random.below(15));
    out += "', 'all']\n";
    return;
  }
  const std::string_view module = kModules[static_cast<std::size_t>(random.below(kModules.size()))];
  const std::string_view file = kFiles[static_cast<std::size_t>(random.below(kFiles.size()))];
  switch (random.below(10)) {
    case 0:
      out += "ewarning: unused variable 'tmp_";
      append_number(out, random.below(20));
      out += "' [-Wunused-variable]\n";
      return;
    case 1:
    case 2:
    case 3: {
      const int seconds = random.below(1000);
      const int test = random.below(1000);
      out += "o test_";
      out += module;
      out += '_';
      append_number(out, test, 4, '0');
      out += " ... ok (0.";
      append_number(out, seconds, 3, '0');
      out += "s)\n";
      return;
    }
    default:
      out += "o[";
      append_number(out, line, 3);
      out += '/';
      append_number(out, lines);
      out += "] Building CXX object src/";
      out += module;
      out += "/CMakeFiles/";
      out += module;
      out += ".dir/";
      out += file;
      out += '_';
      append_number(out, random.below(40));
      out += ".cpp.o\n";
  }
}

}  // namespace

std::string builder_name(const Shape& shape, int builder_index) {
  int width = 2;
  for (int limit = 100; shape.builders > limit; limit *= 10) ++width;
  return format("builder-%0*d", width, builder_index);
}

namespace {

// The outcome drawn for a build, and its got_revision: the first draws of its
// generator, in the order WORKLOAD.md's builds have always drawn them.
struct Draws {
  Results results = Results::kSuccess;
  int marked = 0;  // the step that carries a non-success result
  std::string revision;
};

Draws draw(const Shape& shape, int builder_index, int number) {
  Random random = random_for(shape, builder_index, number);
  Draws draws;
  const double outcome = random.unit();
  draws.results = outcome < 0.90   ? Results::kSuccess
                  : outcome < 0.95 ? Results::kWarnings
                  : outcome < 0.99 ? Results::kFailure
                                   : Results::kException;
  draws.marked = shape.steps > 0 ? random.below(shape.steps) : 0;
  char revision[41];
  std::snprintf(revision, sizeof(revision), "%016llx%016llx%08llx",
                static_cast<unsigned long long>(random.next()),
                static_cast<unsigned long long>(random.next()),
                static_cast<unsigned long long>(random.next() & 0xffffffffULL));
  draws.revision = revision;
  return draws;
}

bool stops_build(Results results) {
  return results == Results::kFailure || results == Results::kException;
}

// Fails step `index` unless an earlier step already stopped the build; the steps
// after it are skipped.
void fail_step(PlannedBuild& build, std::size_t index) {
  for (std::size_t i = 0; i < index; ++i) {
    if (stops_build(build.steps[i].results)) return;
  }
  build.steps[index].results = Results::kFailure;
  for (std::size_t i = index + 1; i < build.steps.size(); ++i) {
    build.steps[i].results = Results::kSkipped;
  }
  build.results = Results::kFailure;
}

// The shape's trends, drawn from a generator of their own so that the reference
// workload's draws stay as they are.
void add_trends(const Shape& shape, int builder_index, int number, PlannedBuild& build) {
  const auto index_of = [&](std::string_view name) {
    for (std::size_t i = 0; i < build.steps.size(); ++i) {
      if (build.steps[i].name == name) return static_cast<int>(i);
    }
    return -1;
  };
  if (const int lint = index_of("lint"); shape.regression_at > 0 && number >= shape.regression_at &&
                                          lint >= 0) {
    fail_step(build, static_cast<std::size_t>(lint));
  }
  Random random = random_for(shape, builder_index, number, -2);
  if (const int test = index_of("test"); shape.flaky > 0 && test >= 0 &&
                                          random.unit() < shape.flaky) {
    fail_step(build, static_cast<std::size_t>(test));
  }
  const int compile = index_of("compile");
  if (shape.slowdown > 0 && compile >= 0) {
    const std::int64_t extra = std::min(300, number / shape.slowdown);
    for (std::size_t i = static_cast<std::size_t>(compile); i < build.steps.size(); ++i) {
      if (i > static_cast<std::size_t>(compile)) build.steps[i].started_at += extra;
      build.steps[i].complete_at += extra;
    }
    build.complete_at += extra;
  }
}

}  // namespace

PlannedBuild plan_build(const Shape& shape, int builder_index, int number) {
  const Draws draws = draw(shape, builder_index, number);
  PlannedBuild build;
  build.builder = builder_name(shape, builder_index);
  build.number = number;
  build.worker = "worker-" + std::to_string(number % 4);
  build.started_at =
      kEpoch + (static_cast<std::int64_t>(number - 1) * shape.builders + builder_index) * 60;
  build.results = draws.results;
  // A failure (or exception) is one step; the steps after it are skipped.
  for (int index = 0; index < shape.steps; ++index) {
    PlannedStep step;
    step.name = step_name(index);
    step.started_at = build.started_at + index * kStepSeconds;
    step.complete_at = step.started_at + kStepSeconds;
    if (index == draws.marked && build.results != Results::kSuccess) {
      step.results = build.results;
    } else if (index > draws.marked && stops_build(build.results)) {
      step.results = Results::kSkipped;
    }
    build.steps.push_back(step);
  }
  build.complete_at = build.started_at + shape.steps * kStepSeconds;
  add_trends(shape, builder_index, number, build);

  // With a flaky step, every revision is built twice (a rebuild of each commit).
  const std::string revision =
      shape.flaky > 0 && number % 2 == 0 ? draw(shape, builder_index, number - 1).revision
                                         : draws.revision;
  build.properties = {
      {"buildername", quoted(build.builder), "Builder"},
      {"got_revision", quoted(revision), "Git"},
      {"workername", quoted(build.worker), "Worker"},
  };
  return build;
}

void parse_trends(std::string_view text, Shape& shape) {
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t equals = item.find('=');
    const std::string name(item.substr(0, equals));
    const std::string value(equals == std::string_view::npos ? "" : item.substr(equals + 1));
    std::size_t used = 0;
    try {
      if (name == "slowdown") {
        shape.slowdown = std::stoi(value, &used);
        if (shape.slowdown < 1) used = 0;
      } else if (name == "flaky") {
        shape.flaky = std::stod(value, &used);
        if (!(shape.flaky > 0 && shape.flaky <= 1)) used = 0;
      } else if (name == "regression") {
        shape.regression_at = std::stoi(value, &used);
        if (shape.regression_at < 1) used = 0;
      }
    } catch (const std::logic_error&) {
      used = 0;
    }
    if (used == 0 || used != value.size()) {
      throw std::invalid_argument("malformed trend '" + std::string(item) +
                                  "' (expected slowdown=BUILDS, flaky=PROBABILITY or "
                                  "regression=NUMBER)");
    }
  }
}

void for_each_log_piece(const Shape& shape, int builder_index, int number, int step_index,
                        const std::function<void(const std::string&)>& piece_ready) {
  Random random = random_for(shape, builder_index, number, step_index);
  const int pieces = std::max(1, std::min(shape.appends, std::max(shape.log_lines, 1)));
  std::string text;
  int line = 0;
  for (int piece = 0; piece < pieces; ++piece) {
    const int count = shape.log_lines / pieces + (piece < shape.log_lines % pieces ? 1 : 0);
    text.clear();
    for (int i = 0; i < count; ++i, ++line) append_log_line(text, random, line, shape.log_lines);
    piece_ready(text);
  }
}

std::vector<std::string> log_pieces(const Shape& shape, int builder_index, int number,
                                    int step_index) {
  std::vector<std::string> result;
  for_each_log_piece(shape, builder_index, number, step_index,
                     [&](const std::string& piece) { result.push_back(piece); });
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
    for_each_log_piece(shape, builder_index, number, static_cast<int>(index),
                       [&](const std::string& piece) { log->append(piece); });
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
