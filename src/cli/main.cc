// buildhist: the command. A thin shell: parse, call the library, map errors to
// CLI.md's exit statuses with one line on stderr.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "buildhist/error.h"
#include "cli.h"

namespace buildhist::cli {

std::string store_path(const Global& global) {
  if (!global.db.empty()) return global.db;
  if (const char* env = std::getenv("BUILDHIST_DB"); env != nullptr && *env != '\0') return env;
  return "buildhist.db";
}

bool show_progress(const Global& global) { return global.progress || isatty(STDERR_FILENO); }

namespace {

int exit_status(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kNotFound:
      return kNotFound;
    case ErrorCode::kInvalidArgument:
      return kUsageError;
    default:
      return kRuntimeError;
  }
}

int fail(int status, const std::string& message) {
  std::cout.flush();
  std::cerr << "buildhist: error: " << message << "\n";
  return status;
}

int run(int argc, char** argv) {
  CLI::App app("buildhist: the build history of a CI master, in one SQLite store", "buildhist");
  app.require_subcommand(1);
  app.fallthrough();  // global options may come after the command too
  Global global;
  app.add_option("--db", global.db, "the store (else $BUILDHIST_DB, else ./buildhist.db)");
  app.add_flag("--json", global.json, "JSON output: lists as JSON Lines");
  app.add_flag("--progress", global.progress, "show progress on stderr even if not a terminal");
  app.add_option("--busy-timeout", global.busy_timeout_ms,
                 "how long to wait for a store another process has locked, in milliseconds")
      ->check(CLI::Range(0, 3600000))
      ->type_name("MS");

  Command command;
  add_simulate(app, global, command);
  add_queries(app, global, command);
  add_compact(app, global, command);
  add_grep(app, global, command);
  add_trends(app, global, command);
  add_transfer(app, global, command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kOk;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return kOk;
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    if (message.empty()) message = "bad usage; see buildhist --help";
    // With no command recognised, CLI11 says only that one is required: name what was given.
    if (app.get_subcommands().empty() && !app.remaining().empty()) {
      const std::string given = app.remaining().front();
      message = (given.rfind('-', 0) == 0 ? "unknown option '" : "unknown command '") + given +
                "'; see buildhist --help";
    }
    return fail(kUsageError, message);
  }
  try {
    return command();
  } catch (const UsageError& e) {
    return fail(kUsageError, e.what());
  } catch (const Error& e) {
    return fail(exit_status(e), e.what());
  } catch (const std::bad_alloc&) {
    return fail(kRuntimeError, "out of memory");
  } catch (const std::exception& e) {
    return fail(kRuntimeError, e.what());
  }
}

}  // namespace
}  // namespace buildhist::cli

int main(int argc, char** argv) {
  // Lists and logs go through std::cout in bulk; unsynchronised with C's stdio it
  // buffers on its own, a large difference for `log` and `builds --limit 0`. The
  // command never mixes the two on one stream in one run.
  std::ios::sync_with_stdio(false);
  return buildhist::cli::run(argc, argv);
}
