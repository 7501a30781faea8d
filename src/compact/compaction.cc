#include "compact/compaction.h"

#include <climits>
#include <ctime>

namespace buildhist::internal {

Compaction::Compaction(const std::string& path, const CompactOptions& options)
    : options_(options),
      now_(options.now != 0 ? options.now : static_cast<std::int64_t>(std::time(nullptr))),
      connection_(path, options.dry_run ? Connection::Mode::kReadOnly : Connection::Mode::kReadWrite,
                  options.busy_timeout, nullptr),
      writes_(connection_, options.dry_run) {
  report_.dry_run = options.dry_run;
  if (options.dry_run) return;
  // As the store's own writer: deleting a build cascades to everything under it,
  // and a commit is not synced (a crash of the process loses nothing committed;
  // a power loss at worst undoes steps of compaction, each whole).
  configure_writer(connection_, Sync::kProcessCrash, false);
}

void Compaction::progress(const std::string& line, bool always) {
  if (!options_.progress) return;
  const auto now = std::chrono::steady_clock::now();
  if (!always && now - last_progress_ < std::chrono::seconds(1)) return;
  last_progress_ = now;
  options_.progress(line);
}

std::vector<BuildPick> Compaction::next_batch(const BuilderRange& builder, int after,
                                              int number_at_most, std::int64_t finished_before) {
  return guard_sql("choose builds of " + builder.name, [&] {
    return pick_builds(connection_, builder, after, number_at_most, finished_before,
                       options_.batch_builds);
  });
}

std::string Compaction::id_array(const std::vector<BuildPick>& picks) {
  std::string ids = "[";
  for (const BuildPick& pick : picks) {
    if (ids.size() > 1) ids += ',';
    ids += std::to_string(pick.id);
  }
  return ids + "]";
}

BuilderRange through_newest(BuilderRange builder) {
  if (builder.newest < INT_MAX) ++builder.newest;
  return builder;
}

}  // namespace buildhist::internal
