// buildhist compact: retention, recompression and reclaiming space, as a thin
// shell over buildhist::compact().
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <rapidjson/ostreamwrapper.h>
#include <rapidjson/writer.h>

#include "buildhist/compact.h"
#include "buildhist/error.h"
#include "buildhist/report.h"
#include "cli.h"

namespace buildhist::cli {

namespace {

struct CompactArgs {
  std::optional<int> keep_builds;
  std::optional<std::string> older_than;
  std::optional<std::string> logs_older_than;
  bool no_compress = false;
  bool no_dictionaries = false;
  bool no_vacuum = false;
  bool dry_run = false;
  int batch_builds = CompactOptions().batch_builds;
};

std::int64_t duration_arg(const std::string& text, const char* option) {
  try {
    return parse_duration(text);
  } catch (const Error& e) {
    throw UsageError(std::string(option) + ": " + e.what());
  }
}

std::string size_text(std::int64_t bytes) {
  char text[32];
  if (bytes < 1024) {
    std::snprintf(text, sizeof(text), "%lld B", static_cast<long long>(bytes));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(text, sizeof(text), "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1024 * 1024));
  }
  return text;
}

void print_text(const CompactReport& r) {
  const char* deleted = r.dry_run ? "would delete" : "deleted";
  std::cout << deleted << ": " << r.builds_deleted << " builds, " << r.steps_deleted
            << " steps, " << r.logs_deleted << " logs, " << r.chunks_deleted << " log chunks ("
            << size_text(r.chunk_bytes_deleted) << ")\n";
  std::cout << deleted << " log text: " << r.logs_purged << " logs ("
            << size_text(r.purged_bytes) << ")\n";
  if (r.dry_run) {
    std::cout << "would recompress: " << r.logs_compressed << " logs, " << r.chunks_before
              << " chunks (" << size_text(r.stored_bytes_before) << ")\n";
    std::cout << "on disk: " << size_text(r.bytes_on_disk_before) << " (nothing changed)\n";
    return;
  }
  std::cout << "recompressed: " << r.logs_compressed << " logs, " << r.chunks_before
            << " chunks (" << size_text(r.stored_bytes_before) << ") into " << r.chunks_after
            << " (" << size_text(r.stored_bytes_after) << ")\n";
  std::cout << "zstd dictionaries: " << r.dictionaries_trained << " trained, "
            << r.dictionaries_deleted << " deleted\n";
  std::cout << "on disk: " << size_text(r.bytes_on_disk_before) << " before, "
            << size_text(r.bytes_on_disk_after) << " after; reclaimed "
            << size_text(std::max<std::int64_t>(0, r.bytes_on_disk_before - r.bytes_on_disk_after))
            << "\n";
}

void print_json(const CompactReport& r) {
  rapidjson::OStreamWrapper out(std::cout);
  rapidjson::Writer<rapidjson::OStreamWrapper> json(out);
  const auto field = [&](const char* name, std::int64_t value) {
    json.Key(name);
    json.Int64(value);
  };
  json.StartObject();
  json.Key("dry_run");
  json.Bool(r.dry_run);
  field("builds_deleted", r.builds_deleted);
  field("steps_deleted", r.steps_deleted);
  field("logs_deleted", r.logs_deleted);
  field("chunks_deleted", r.chunks_deleted);
  field("chunk_bytes_deleted", r.chunk_bytes_deleted);
  field("logs_purged", r.logs_purged);
  field("purged_bytes", r.purged_bytes);
  field("logs_compressed", r.logs_compressed);
  field("chunks_before", r.chunks_before);
  field("chunks_after", r.chunks_after);
  field("stored_bytes_before", r.stored_bytes_before);
  field("stored_bytes_after", r.stored_bytes_after);
  field("dictionaries_trained", r.dictionaries_trained);
  field("dictionaries_deleted", r.dictionaries_deleted);
  field("bytes_on_disk_before", r.bytes_on_disk_before);
  field("bytes_on_disk_after", r.bytes_on_disk_after);
  field("bytes_reclaimed",
        std::max<std::int64_t>(0, r.bytes_on_disk_before - r.bytes_on_disk_after));
  json.EndObject();
  out.Flush();
  std::cout << "\n";
}

int run_compact(const Global& global, const CompactArgs& args) {
  CompactOptions options;
  if (args.keep_builds) {
    if (*args.keep_builds < 1) throw UsageError("--keep-builds: must be at least 1");
    options.keep_builds = args.keep_builds;
  }
  if (args.older_than) options.older_than = duration_arg(*args.older_than, "--older-than");
  if (args.logs_older_than) {
    options.logs_older_than = duration_arg(*args.logs_older_than, "--logs-older-than");
  }
  options.compress = !args.no_compress;
  options.dictionaries = !args.no_dictionaries;
  options.vacuum = !args.no_vacuum;
  options.dry_run = args.dry_run;
  if (args.batch_builds < 1) throw UsageError("--batch-builds: must be at least 1");
  options.batch_builds = args.batch_builds;
  options.busy_timeout = std::chrono::milliseconds(global.busy_timeout_ms);
  if (show_progress(global)) {
    options.progress = [](std::string_view line) { std::cerr << line << "\n"; };
  }
  const CompactReport report = compact(store_path(global), options);
  if (global.json) {
    print_json(report);
  } else {
    print_text(report);
  }
  return kOk;
}

}  // namespace

void add_compact(CLI::App& app, const Global& global, Command& command) {
  auto args = std::make_shared<CompactArgs>();
  CLI::App* sub = app.add_subcommand(
      "compact", "delete old builds or log text, recompress finished logs, reclaim space");
  sub->add_option("--keep-builds", args->keep_builds, "keep the newest N builds of each builder")
      ->type_name("N");
  sub->add_option("--older-than", args->older_than, "delete builds finished longer ago than DUR")
      ->type_name("DUR");
  sub->add_option("--logs-older-than", args->logs_older_than,
                  "delete the log text of builds finished longer ago than DUR")
      ->type_name("DUR");
  sub->add_flag("--no-compress", args->no_compress, "do not recompress finished logs");
  sub->add_flag("--no-dictionaries", args->no_dictionaries,
                "recompress with plain zstd, without training per-builder dictionaries");
  sub->add_flag("--no-vacuum", args->no_vacuum, "do not give freed space back to the file system");
  sub->add_flag("--dry-run", args->dry_run, "report what would be done, change nothing");
  sub->add_option("--batch-builds", args->batch_builds, "builds a step (default 20)")
      ->type_name("N");
  sub->callback([&global, &command, args] {
    command = [&global, args] { return run_compact(global, *args); };
  });
}

}  // namespace buildhist::cli
