// buildhist grep: a thin shell over buildhist::print_grep. Its exit statuses are
// grep's, not the other commands' (docs/grep.md): 0 a match, 1 none, 2 any error.
#include <chrono>
#include <climits>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "buildhist/error.h"
#include "buildhist/grep.h"
#include "buildhist/history.h"
#include "buildhist/report.h"
#include "buildhist/store.h"
#include "cli.h"

namespace buildhist::cli {

namespace {

struct GrepArgs {
  GrepQuery query;
  bool fixed = false, extended = false;
  bool list = false, count = false;
  bool first = false, last = false;
  int context = -1, before = -1, after = -1;
  std::optional<std::string> results, since, until;
};

// DUR (that long ago) or TIME, as `compact` and `builds` take them.
std::int64_t when_arg(const std::string& text, const char* option) {
  try {
    if (!text.empty() && std::string("smhdw").find(text.back()) != std::string::npos &&
        text.find_first_not_of("0123456789") == text.size() - 1) {
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch());
      return now.count() - parse_duration(text);
    }
    return parse_time(text);
  } catch (const Error& e) {
    throw UsageError(std::string(option) + ": " + e.what());
  }
}

GrepQuery grep_query(GrepArgs& args) {
  GrepQuery query = args.query;
  if (args.fixed && args.extended) throw UsageError("-F and -E exclude each other");
  if (args.list && args.count) throw UsageError("-l and -c exclude each other");
  if (args.first && args.last) throw UsageError("--first and --last exclude each other");
  query.syntax = args.fixed ? GrepQuery::Syntax::kFixed : GrepQuery::Syntax::kRegex;
  query.output = args.list    ? GrepQuery::Output::kLogs
                 : args.count ? GrepQuery::Output::kCounts
                              : GrepQuery::Output::kLines;
  query.pick = args.first ? GrepQuery::Pick::kFirst
               : args.last ? GrepQuery::Pick::kLast
                           : GrepQuery::Pick::kAll;
  const int context = std::max(args.context, 0);
  query.before = args.before >= 0 ? args.before : context;
  query.after = args.after >= 0 ? args.after : context;
  if (args.results) {
    query.results = results_from_name(*args.results);
    if (!query.results) {
      throw UsageError("--result: unknown results '" + *args.results +
                       "' (success, warnings, failure, skipped, exception, retry, cancelled)");
    }
  }
  if (args.since) query.since = when_arg(*args.since, "--since");
  if (args.until) query.until = when_arg(*args.until, "--until");
  return query;
}

int run_grep(const Global& global, GrepArgs& args) {
  try {
    const GrepQuery query = grep_query(args);
    Options options;
    options.read_only = true;
    options.busy_timeout = std::chrono::milliseconds(global.busy_timeout_ms);
    const auto store = Store::open(store_path(global), options);
    History history(*store);
    const GrepSummary summary =
        print_grep(history, query, std::cout, global.json ? Format::kJson : Format::kText);
    return summary.matching_lines > 0 ? kOk : kRuntimeError;
  } catch (const Error& e) {
    // grep's convention: every error, a missing store or builder too, is status 2.
    throw UsageError(e.what());
  }
}

}  // namespace

void add_grep(CLI::App& app, const Global& global, Command& command) {
  auto args = std::make_shared<GrepArgs>();
  GrepQuery& q = args->query;
  CLI::App* sub = app.add_subcommand(
      "grep", "search log text across builds, newest first; exit 0 on a match, 1 on none");
  sub->add_option("PATTERN", q.pattern, "an RE2 regular expression (with -F, literal text)")
      ->required();
  sub->add_option("BUILDER", q.builders, "only these builders' builds");
  sub->add_flag("-F,--fixed-strings", args->fixed, "PATTERN is literal text");
  sub->add_flag("-E,--extended-regexp", args->extended, "PATTERN is a regular expression (the default)");
  sub->add_flag("-i,--ignore-case", q.ignore_case, "ignore case");
  sub->add_flag("-w,--word-regexp", q.word, "match whole words only");
  sub->add_option("-C,--context", args->context, "N lines of context around each match")
      ->check(CLI::Range(0, 1000000))->type_name("N");
  sub->add_option("-A,--after-context", args->after, "N lines after each match")
      ->check(CLI::Range(0, 1000000))->type_name("N");
  sub->add_option("-B,--before-context", args->before, "N lines before each match")
      ->check(CLI::Range(0, 1000000))->type_name("N");
  sub->add_flag("-l,--files-with-matches", args->list, "only the logs that match");
  sub->add_flag("-c,--count", args->count, "the number of matching lines in each log that has some");
  sub->add_flag("--first", args->first, "per builder, only the oldest build with a match");
  sub->add_flag("--last", args->last, "per builder, only the newest build with a match");
  sub->add_option("-m,--max-count", q.max_count, "stop after N matching lines (with -l, N logs)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{LLONG_MAX}))->type_name("N");
  sub->add_option("--since", args->since, "only builds started at or after TIME, or DUR ago")
      ->type_name("DUR|TIME");
  sub->add_option("--until", args->until, "only builds started before TIME, or DUR ago")
      ->type_name("DUR|TIME");
  sub->add_option("--result", args->results, "only builds with these results")->type_name("R");
  sub->add_option("--step", q.step, "only steps of this name")->type_name("NAME");
  sub->add_option("--log", q.log, "only logs of this slug or name")->type_name("NAME");
  sub->callback([&global, &command, args] {
    command = [&global, args] { return run_grep(global, *args); };
  });
}

}  // namespace buildhist::cli
