// The buildhist command: what its subcommands share.
#ifndef BUILDHIST_CLI_CLI_H_
#define BUILDHIST_CLI_CLI_H_

#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace buildhist::cli {

// Exit statuses, as CLI.md gives them.
enum Exit : int { kOk = 0, kRuntimeError = 1, kUsageError = 2, kNotFound = 3 };

// Options given before or after the command.
struct Global {
  std::string db;
  bool json = false;
  bool progress = false;
  int busy_timeout_ms = 5000;  // how long to wait for a store locked by another process
};

// --db, else $BUILDHIST_DB, else ./buildhist.db.
std::string store_path(const Global& global);

// Progress goes to stderr only when it is a terminal, or when --progress asks.
bool show_progress(const Global& global);

// Bad usage found after parsing (a malformed reference, time or duration): exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a parsed subcommand runs; returns the exit status.
using Command = std::function<int()>;

// Each registers its subcommand(s) on `app`; parsing one stores what it runs in
// `command`.
void add_simulate(CLI::App& app, const Global& global, Command& command);
void add_queries(CLI::App& app, const Global& global, Command& command);
void add_compact(CLI::App& app, const Global& global, Command& command);
void add_grep(CLI::App& app, const Global& global, Command& command);
void add_trends(CLI::App& app, const Global& global, Command& command);
void add_transfer(CLI::App& app, const Global& global, Command& command);

}  // namespace buildhist::cli

#endif  // BUILDHIST_CLI_CLI_H_
