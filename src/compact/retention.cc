#include "compact/retention.h"

#include <limits>

namespace buildhist::internal {

namespace {

std::string done(const Compaction& compaction, const char* what) {
  return std::string(compaction.dry_run() ? "would delete" : "deleted") + what;
}

}  // namespace

void delete_builds(Compaction& compaction, const BuilderRange& builder) {
  const CompactOptions& options = compaction.options();
  const int number_at_most = options.keep_builds ? builder.newest - *options.keep_builds : 0;
  const std::int64_t finished_before = options.older_than
                                           ? compaction.now() - *options.older_than
                                           : std::numeric_limits<std::int64_t>::min();
  CompactReport& report = compaction.report();
  compaction.for_each_batch(
      builder, number_at_most, finished_before,
      [&](const std::vector<BuildPick>& picks, const std::string& ids) {
        compaction.writes().run("delete builds of " + builder.name, [&] {
          const Contents contents = contents_of(compaction.connection(), ids);
          if (!compaction.dry_run()) internal::delete_builds(compaction.connection(), ids);
          report.builds_deleted += static_cast<std::int64_t>(picks.size());
          report.steps_deleted += contents.steps;
          report.logs_deleted += contents.logs;
          report.chunks_deleted += contents.chunks;
          report.chunk_bytes_deleted += contents.chunk_bytes;
        });
        compaction.progress("compact: " + builder.name + ": " + done(compaction, " builds ") +
                            std::to_string(picks.front().number) + " to " +
                            std::to_string(picks.back().number));
      });
}

void purge_logs(Compaction& compaction, const BuilderRange& builder) {
  CompactReport& report = compaction.report();
  compaction.for_each_batch(
      through_newest(builder), 0, compaction.now() - *compaction.options().logs_older_than,
      [&](const std::vector<BuildPick>& picks, const std::string& ids) {
        compaction.writes().run("delete log text of " + builder.name, [&] {
          const Contents contents = contents_of(compaction.connection(), ids);
          if (contents.chunks == 0 && contents.logs_with_text == 0) return;
          if (!compaction.dry_run()) {
            purge_log_text(compaction.connection(), ids, compaction.now());
          }
          report.logs_purged += contents.logs_with_text;
          report.purged_bytes += contents.chunk_bytes;
        });
        compaction.progress("compact: " + builder.name + ": " + done(compaction, " log text") +
                            " up to build " + std::to_string(picks.back().number));
      });
}

}  // namespace buildhist::internal
