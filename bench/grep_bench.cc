// grep_bench: MB/s of log text searched by History::grep on a store (compact it
// first: `buildhist simulate`, then `buildhist compact`), side by side in the same
// run with ripgrep and GNU grep over the same text as a plain file, and with
// `zstd -dc | grep` over it compressed. Each figure is the best of --runs runs of
// a count of matching lines (grep -c); the counts are printed too, and must agree.
//
//   grep_bench --db STORE --dir SCRATCH [--runs 3]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "buildhist/buildhist.h"

using namespace buildhist;

namespace {

using Clock = std::chrono::steady_clock;

// Writes every log's text, as `buildhist log` prints it, into one file; its bytes.
std::int64_t export_text(History& history, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  std::int64_t bytes = 0;
  std::vector<BuilderSummary> builders;
  history.builders([&](const BuilderSummary& b) { return builders.push_back(b), true; });
  for (const auto& builder : builders) {
    BuildFilter all;
    all.limit = 0;
    std::vector<int> numbers;
    history.builds(builder.name, all, [&](const BuildRecord& b) { return numbers.push_back(b.number), true; });
    for (const int number : numbers) {
      const BuildDetail detail = history.show(builder.name, number);
      for (const auto& step : detail.steps) {
        for (const auto& log : step.logs) {
          const LogDetail found = history.find_log(
              Reference{builder.name, number, StepSelector{step.step.number, {}}, log.slug});
          const bool stdio = log.type == LogType::kStdio;
          history.read_log(found, 0, 0, [&](const LogLine& line) {
            std::string_view text = line.text;
            if (stdio && !text.empty()) text.remove_prefix(1);
            out.write(text.data(), static_cast<std::streamsize>(text.size()));
            out.put('\n');
            bytes += static_cast<std::int64_t>(text.size()) + 1;
            return true;
          });
        }
      }
    }
  }
  return bytes;
}

// The best time of `runs` runs of `body`, which returns its count of matches.
double best_seconds(int runs, const std::function<long long()>& body, long long& count) {
  double best = 1e100;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    count = body();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  return best;
}

long long shell_count(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  long long count = -1;
  if (std::fscanf(pipe, "%lld", &count) != 1) count = -1;
  pclose(pipe);
  return count;
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

}  // namespace

int main(int argc, char** argv) {
  std::string db, dir;
  int runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    if (name == "--db") db = argv[i + 1];
    else if (name == "--dir") dir = argv[i + 1];
    else if (name == "--runs") runs = std::atoi(argv[i + 1]);
    else return std::fprintf(stderr, "grep_bench: unknown flag %s\n", argv[i]), 2;
  }
  if (db.empty() || dir.empty()) {
    std::fprintf(stderr, "usage: grep_bench --db STORE --dir SCRATCH [--runs N]\n");
    return 2;
  }
  Options options;
  options.read_only = true;
  auto store = Store::open(db, options);
  History history(*store);
  const std::string text = dir + "/all.txt";
  const std::int64_t bytes = export_text(history, text);
  if (std::system(("zstd -q -f -3 " + quoted(text) + " -o " + quoted(text + ".zst")).c_str()) != 0) {
    return std::fprintf(stderr, "grep_bench: zstd failed\n"), 1;
  }
  std::printf("log text: %.1f MB (%s), runs: %d, best run reported\n", bytes / 1e6, db.c_str(), runs);
  std::printf("%-28s %14s %10s %10s %14s\n", "pattern", "buildhist", "ripgrep", "GNU grep",
              "zstd -dc|grep");

  struct Case {
    const char* name;
    std::string pattern;
    bool fixed, ignore_case;
  };
  const std::vector<Case> cases = {
      {"literal", "unused variable", true, false},
      {"literal -i", "UNUSED VARIABLE", true, true},
      {"alternation", "error|warning: unused", false, false},
  };
  for (const Case& c : cases) {
    GrepQuery query;
    query.pattern = c.pattern;
    query.syntax = c.fixed ? GrepQuery::Syntax::kFixed : GrepQuery::Syntax::kRegex;
    query.ignore_case = c.ignore_case;
    query.output = GrepQuery::Output::kCounts;
    long long ours = 0, rg = 0, gnu = 0, piped = 0;
    const double t_ours = best_seconds(runs, [&] {
      return static_cast<long long>(history.grep(query, [](const GrepEvent&) { return true; })
                                        .matching_lines);
    }, ours);
    const std::string flags = std::string(c.fixed ? " -F" : " -E") + (c.ignore_case ? " -i" : "");
    // ripgrep's -E is --encoding: its default syntax is already extended.
    const std::string rg_flags = std::string(c.fixed ? " -F" : "") + (c.ignore_case ? " -i" : "");
    const std::string pattern = quoted(c.pattern);
    const double t_rg = best_seconds(runs, [&] {
      return shell_count("rg -c" + rg_flags + " -e " + pattern + " " + quoted(text));
    }, rg);
    const double t_gnu = best_seconds(runs, [&] {
      return shell_count("LC_ALL=C grep -c" + flags + " -e " + pattern + " " + quoted(text));
    }, gnu);
    const double t_piped = best_seconds(runs, [&] {
      return shell_count("zstd -dc " + quoted(text + ".zst") + " | LC_ALL=C grep -c" + flags +
                         " -e " + pattern);
    }, piped);
    const auto rate = [&](double seconds) { return bytes / 1e6 / seconds; };
    std::printf("%-28s %9.0f MB/s %5.0f MB/s %5.0f MB/s %9.0f MB/s   counts %lld %lld %lld %lld\n",
                (std::string(c.name) + " " + c.pattern).c_str(), rate(t_ours), rate(t_rg),
                rate(t_gnu), rate(t_piped), ours, rg, gnu, piped);
  }
  return 0;
}
