// buildhist's query commands: builders, builds, show, log, find, stats, check.
// Each parses its arguments, opens the store read-only and hands the question to
// a buildhist::Report writing to standard output.
#include <climits>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/report.h"
#include "buildhist/store.h"
#include "cli.h"

namespace buildhist::cli {

namespace {

struct QueryArgs {
  std::string builder;
  std::string reference;
  int limit = 20;
  std::int64_t log_limit = 0;
  std::int64_t from = 0;
  int before = 0;
  // Optional, so that an empty value given (--since '') is refused, not ignored.
  std::optional<std::string> results;
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::optional<std::string> only_builder;  // find --builder
  bool follow = false;
  std::string property;
};

// Runs `body` with a Report over the store, opened read-only: a query never
// creates, upgrades or writes a store.
int with_report(const Global& global, const std::function<int(Report&)>& body) {
  Options options;
  options.read_only = true;
  options.busy_timeout = std::chrono::milliseconds(global.busy_timeout_ms);
  const auto store = Store::open(store_path(global), options);
  History history(*store);
  Report report(history, std::cout, global.json ? Format::kJson : Format::kText);
  return body(report);
}

Reference reference_arg(const std::string& text) {
  try {
    return parse_reference(text);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

std::int64_t time_arg(const std::string& text, const char* option) {
  try {
    return parse_time(text);
  } catch (const Error& e) {
    throw UsageError(std::string(option) + ": " + e.what());
  }
}

BuildFilter build_filter(const QueryArgs& args) {
  BuildFilter filter;
  filter.limit = args.limit;
  if (args.before != 0) filter.before = args.before;
  if (args.results) {
    filter.results = results_from_name(*args.results);
    if (!filter.results) {
      throw UsageError("--result: unknown results '" + *args.results +
                       "' (success, warnings, failure, skipped, exception, retry, cancelled)");
    }
  }
  if (args.since) filter.since = time_arg(*args.since, "--since");
  if (args.until) filter.until = time_arg(*args.until, "--until");
  return filter;
}

// Registers a subcommand whose parsed arguments land in a QueryArgs, and which
// runs `run` on them.
CLI::App* add_query(CLI::App& app, const Global& global, Command& command, const char* name,
                    const char* description, const std::shared_ptr<QueryArgs>& args,
                    std::function<int(const QueryArgs&, Report&)> run) {
  CLI::App* sub = app.add_subcommand(name, description);
  sub->callback([&global, &command, args, run] {
    command = [&global, args, run] {
      return with_report(global, [&](Report& report) { return run(*args, report); });
    };
  });
  return sub;
}

}  // namespace

void add_queries(CLI::App& app, const Global& global, Command& command) {
  {
    auto args = std::make_shared<QueryArgs>();
    add_query(app, global, command, "builders", "list every builder with its newest build", args,
              [](const QueryArgs&, Report& report) {
                report.builders();
                return kOk;
              });
  }
  {
    auto args = std::make_shared<QueryArgs>();
    CLI::App* sub = add_query(
        app, global, command, "builds", "list a builder's builds, newest first", args,
        [](const QueryArgs& a, Report& report) {
          report.builds(a.builder, build_filter(a));
          return kOk;
        });
    sub->add_option("BUILDER", args->builder, "the builder")->required();
    sub->add_option("--limit", args->limit, "at most this many builds (0: all)")
        ->check(CLI::Range(0, INT_MAX));
    sub->add_option("--before", args->before, "only builds numbered below NUMBER")
        ->check(CLI::Range(1, INT_MAX))
        ->type_name("NUMBER");
    sub->add_option("--result", args->results, "only builds with these results")
        ->type_name("RESULTS");
    sub->add_option("--since", args->since, "only builds started at or after TIME")
        ->type_name("TIME");
    sub->add_option("--until", args->until, "only builds started before TIME")->type_name("TIME");
  }
  {
    auto args = std::make_shared<QueryArgs>();
    CLI::App* sub = add_query(app, global, command, "show",
                              "a build with its properties, steps and logs", args,
                              [](const QueryArgs& a, Report& report) {
                                const Reference reference = reference_arg(a.reference);
                                if (reference.step) {
                                  throw UsageError("show takes BUILDER/NUMBER, not '" +
                                                   a.reference + "'");
                                }
                                report.show(reference.builder, reference.number);
                                return kOk;
                              });
    sub->add_option("REFERENCE", args->reference, "BUILDER/NUMBER")->required();
  }
  {
    auto args = std::make_shared<QueryArgs>();
    CLI::App* sub = add_query(
        app, global, command, "log", "a log's lines", args, [](const QueryArgs& a, Report& report) {
          const Reference reference = reference_arg(a.reference);
          if (!reference.log) {
            throw UsageError("log takes BUILDER/NUMBER/STEP/LOG, not '" + a.reference + "'");
          }
          if (const auto notice = report.log(reference, a.from, a.log_limit, a.follow)) {
            std::cerr << "buildhist: " << *notice << "\n";
          }
          return kOk;
        });
    sub->add_option("REFERENCE", args->reference, "BUILDER/NUMBER/STEP/LOG")->required();
    sub->add_option("--from", args->from, "the first line (lines are numbered from 0)")
        ->check(CLI::NonNegativeNumber)
        ->type_name("LINE");
    sub->add_option("--limit", args->log_limit, "at most this many lines (0: all)")
        ->check(CLI::NonNegativeNumber);
    sub->add_flag("--follow,-f", args->follow,
                  "keep printing lines as they are appended until the log completes");
  }
  {
    auto args = std::make_shared<QueryArgs>();
    CLI::App* sub = add_query(
        app, global, command, "find", "builds whose property has a value, newest first", args,
        [](const QueryArgs& a, Report& report) {
          const auto equals = a.property.find('=');
          if (equals == std::string::npos || equals == 0) {
            throw UsageError("--property takes NAME=VALUE, not '" + a.property + "'");
          }
          std::optional<std::string_view> builder;
          if (a.only_builder) builder = *a.only_builder;
          report.find(std::string_view(a.property).substr(0, equals),
                      std::string_view(a.property).substr(equals + 1), builder);
          return kOk;
        });
    sub->add_option("--property", args->property, "the property and its value")
        ->required()
        ->type_name("NAME=VALUE");
    sub->add_option("--builder", args->only_builder, "only this builder's builds");
  }
  {
    auto args = std::make_shared<QueryArgs>();
    add_query(app, global, command, "stats",
              "rows per table, bytes on disk, log compression, schema version", args,
              [](const QueryArgs&, Report& report) {
                report.stats();
                return kOk;
              });
  }
  {
    auto args = std::make_shared<QueryArgs>();
    add_query(app, global, command, "check",
              "check the store's integrity; exit 1 if there are problems", args,
              [](const QueryArgs&, Report& report) {
                return report.check() == 0 ? kOk : kRuntimeError;
              });
  }
}

}  // namespace buildhist::cli
