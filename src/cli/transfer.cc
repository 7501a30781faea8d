// buildhist import-buildbot, export and import: thin shells over src/transfer/.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "buildhist/error.h"
#include "buildhist/report.h"
#include "buildhist/store.h"
#include "cli.h"
#include "transfer/buildbot_import.h"
#include "transfer/jsonl_transfer.h"

namespace buildhist::cli {

namespace {

using transfer::TransferCounts;

struct TransferArgs {
  std::string source;
  std::optional<std::string> builder;
  std::vector<std::string> builders;
  std::optional<std::string> since;
  bool with_logs = false;
  bool dry_run = false;
  bool skip_bad = false;
};

void print_problem(std::string_view line) { std::cerr << "buildhist: error: " << line << "\n"; }

// The summary: one line of text, or one JSON object.
void print_summary(const Global& global, const TransferCounts& c, double seconds, bool dry_run) {
  if (global.json) {
    std::cout << "{\"dry_run\":" << (dry_run ? "true" : "false") << ",\"builders\":" << c.builders
              << ",\"builds\":" << c.builds << ",\"skipped\":" << c.skipped
              << ",\"steps\":" << c.steps << ",\"logs\":" << c.logs << ",\"lines\":" << c.lines
              << ",\"bytes\":" << c.bytes << ",\"problems\":" << c.problems
              << ",\"seconds\":" << seconds << "}\n";
    return;
  }
  std::cout << (dry_run ? "would import: " : "imported: ") << c.builds << " builds of "
            << c.builders << " builders, " << c.steps << " steps, " << c.logs << " logs, "
            << c.lines << " lines (" << c.bytes << " bytes); " << c.skipped
            << " already there; " << c.problems << " problems; " << seconds << " s\n";
}

template <typename Body>
int timed(const Global& global, bool dry_run, Body&& body) {
  const auto start = std::chrono::steady_clock::now();
  const TransferCounts counts = body();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  print_summary(global, counts, elapsed.count(), dry_run);
  return counts.problems > 0 ? kRuntimeError : kOk;
}

int run_import_buildbot(const Global& global, const TransferArgs& args) {
  transfer::BuildbotImportOptions options;
  options.builder = args.builder;
  options.dry_run = args.dry_run;
  options.busy_timeout = std::chrono::milliseconds(global.busy_timeout_ms);
  options.problem = print_problem;
  if (show_progress(global)) {
    options.progress = [](std::string_view line) { std::cerr << line << "\n"; };
  }
  return timed(global, args.dry_run, [&] {
    return transfer::import_buildbot(store_path(global), args.source, options);
  });
}

int run_import(const Global& global, const TransferArgs& args) {
  transfer::ImportOptions options;
  options.skip_bad = args.skip_bad;
  options.busy_timeout = std::chrono::milliseconds(global.busy_timeout_ms);
  options.problem = print_problem;
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.source != "-") {
    file.open(args.source, std::ios::binary);
    if (!file) throw Error(ErrorCode::kIO, "cannot read " + args.source);
    in = &file;
  }
  return timed(global, false, [&] { return transfer::import_jsonl(store_path(global), *in, options); });
}

int run_export(const Global& global, const TransferArgs& args) {
  transfer::ExportOptions options;
  options.builders = args.builders;
  options.with_logs = args.with_logs;
  if (args.since) {
    try {
      options.since = parse_time(*args.since);
    } catch (const Error& e) {
      throw UsageError(std::string("--since: ") + e.what());
    }
  }
  Options store_options;
  store_options.read_only = true;
  store_options.busy_timeout = std::chrono::milliseconds(global.busy_timeout_ms);
  auto store = Store::open(store_path(global), store_options);
  transfer::export_jsonl(*store, options, std::cout);
  return kOk;
}

}  // namespace

void add_transfer(CLI::App& app, const Global& global, Command& command) {
  auto args = std::make_shared<TransferArgs>();

  CLI::App* bb = app.add_subcommand(
      "import-buildbot", "import a buildbot master's SQLite database, or what is new in it");
  bb->add_option("BUILDBOT_DB", args->source, "buildbot's state.sqlite (opened read-only)")
      ->required();
  bb->add_option("--builder", args->builder, "only this builder")->type_name("NAME");
  bb->add_flag("--dry-run", args->dry_run, "count what would be imported, write nothing");
  bb->callback([&global, &command, args] {
    command = [&global, args] { return run_import_buildbot(global, *args); };
  });

  CLI::App* ex = app.add_subcommand("export", "the store's builds as JSON Lines, one build a line");
  ex->add_option("BUILDER", args->builders, "only these builders");
  ex->add_option("--since", args->since, "builds started at or after TIME")->type_name("TIME");
  ex->add_flag("--with-logs", args->with_logs, "include the log text");
  ex->callback([&global, &command, args] {
    command = [&global, args] { return run_export(global, *args); };
  });

  CLI::App* im = app.add_subcommand("import", "read JSON Lines written by export into the store");
  im->add_option("FILE", args->source, "the file, or - for standard input")->required();
  im->add_flag("--skip-bad", args->skip_bad, "go on after a bad line, dropping its build");
  im->callback([&global, &command, args] {
    command = [&global, args] { return run_import(global, *args); };
  });
}

}  // namespace buildhist::cli
