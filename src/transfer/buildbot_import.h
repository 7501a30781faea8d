// buildhist import-buildbot: a buildbot master's SQLite database into a store,
// incrementally.
//
// Each run imports, per builder, the builds numbered above the store's newest one
// and again the builds the store has as running or with a log not complete (a
// build that has since finished, a log that has grown), each build in one
// transaction; identical builds are skipped, so running it again, or after it was
// killed, completes the job without duplicating anything. The buildbot database is
// only ever opened read-only.
#ifndef BUILDHIST_TRANSFER_BUILDBOT_IMPORT_H_
#define BUILDHIST_TRANSFER_BUILDBOT_IMPORT_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "transfer/build_sink.h"

namespace buildhist::transfer {

struct BuildbotImportOptions {
  std::optional<std::string> builder;  // only this builder
  bool dry_run = false;                // count what would be imported, write nothing
  std::chrono::milliseconds busy_timeout{5000};
  // A line now and then about how far it got (progress on a terminal).
  std::function<void(std::string_view)> progress;
  // One line for each build refused and each chunk that does not decode.
  std::function<void(std::string_view)> problem;
};

// Throws Error for a buildbot database that cannot be read (kCorrupt: not one, or
// a schema it does not know) or a store that cannot be written; per-build problems
// go to options.problem and are counted instead.
TransferCounts import_buildbot(const std::string& store_path, const std::string& buildbot_path,
                               const BuildbotImportOptions& options);

}  // namespace buildhist::transfer

#endif  // BUILDHIST_TRANSFER_BUILDBOT_IMPORT_H_
