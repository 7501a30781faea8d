// buildhist trends and buildhist flaky: parse, open the store read-only, hand the
// question to a TrendsReport; --svg and --html draw the buckets into a file.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/report.h"
#include "buildhist/store.h"
#include "buildhist/trends_report.h"
#include "cli.h"

namespace buildhist::cli {

namespace {

struct TrendsArgs {
  std::vector<std::string> builders;
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::string bucket = "day";
  std::optional<std::string> step;
  std::optional<std::string> svg;
  std::optional<std::string> html;
  std::string key = "got_revision";
  double min_flip_rate = 0.2;
};

// TIME, or DUR back from now: "30d" is thirty days ago.
std::int64_t point_arg(const std::string& text, const char* option) {
  try {
    return parse_time(text);
  } catch (const Error&) {
    try {
      return static_cast<std::int64_t>(std::time(nullptr)) - parse_duration(text);
    } catch (const Error&) {
      throw UsageError(std::string(option) + ": malformed time or duration '" + text +
                       "' (expected 2026-11-22, 2026-11-22T10:00:00Z, epoch seconds or 30d)");
    }
  }
}

template <typename Query>
void range_args(const TrendsArgs& args, Query& query) {
  query.builders = args.builders;
  if (args.since) query.since = point_arg(*args.since, "--since");
  if (args.until) query.until = point_arg(*args.until, "--until");
}

std::unique_ptr<Store> open_store(const Global& global) {
  Options options;
  options.read_only = true;
  options.busy_timeout = std::chrono::milliseconds(global.busy_timeout_ms);
  return Store::open(store_path(global), options);
}

// Writes the picture whole to PATH.tmp, then renames it: a failure leaves no half file.
void write_picture(const std::string& path, const std::vector<TrendBucket>& buckets,
                   void (*write)(const std::vector<TrendBucket>&, std::ostream&)) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorCode::kIO, "could not create " + temporary);
    try {
      write(buckets, out);
    } catch (...) {
      std::remove(temporary.c_str());
      throw;
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw Error(ErrorCode::kIO, "could not write " + path);
  }
}

int run_trends(const Global& global, const TrendsArgs& args) {
  TrendQuery query;
  range_args(args, query);
  try {
    query.bucket = parse_bucketing(args.bucket);
  } catch (const Error& e) {
    throw UsageError(std::string("--bucket: ") + e.what());
  }
  query.step = args.step;
  const auto store = open_store(global);
  History history(*store);
  TrendsReport report(history, std::cout, global.json ? Format::kJson : Format::kText);
  const bool picture = args.svg || args.html;
  std::vector<TrendBucket> buckets;  // bounded by buckets times series, only for a picture
  report.trends(query, picture ? &buckets : nullptr);
  if (args.svg) write_picture(*args.svg, buckets, write_trends_svg);
  if (args.html) write_picture(*args.html, buckets, write_trends_html);
  return kOk;
}

int run_flaky(const Global& global, const TrendsArgs& args) {
  FlakyQuery query;
  range_args(args, query);
  query.key = args.key;
  query.min_flip_rate = args.min_flip_rate;
  const auto store = open_store(global);
  History history(*store);
  TrendsReport report(history, std::cout, global.json ? Format::kJson : Format::kText);
  report.flaky(query);
  return kOk;
}

CLI::App* add_range(CLI::App* sub, TrendsArgs& args) {
  sub->add_option("BUILDER", args.builders, "builders (default: every builder)");
  sub->add_option("--since", args.since, "only builds started at or after TIME, or DUR ago")
      ->type_name("DUR|TIME");
  sub->add_option("--until", args.until, "only builds started before TIME, or DUR ago")
      ->type_name("DUR|TIME");
  return sub;
}

}  // namespace

void add_trends(CLI::App& app, const Global& global, Command& command) {
  {
    auto args = std::make_shared<TrendsArgs>();
    CLI::App* sub = add_range(
        app.add_subcommand("trends", "durations, results and failure rates per bucket"), *args);
    sub->add_option("--bucket", args->bucket, "hour, day, week, or N builds")
        ->type_name("hour|day|week|N");
    sub->add_option("--step", args->step, "only this step's series (and the builds')");
    sub->add_option("--svg", args->svg, "draw the buckets into FILE (SVG)")->type_name("FILE");
    sub->add_option("--html", args->html, "write one self-contained page to FILE")
        ->type_name("FILE");
    sub->callback([&global, &command, args] {
      command = [&global, args] { return run_trends(global, *args); };
    });
  }
  {
    auto args = std::make_shared<TrendsArgs>();
    CLI::App* sub = add_range(
        app.add_subcommand("flaky", "steps that failed and passed on one revision, or flip"),
        *args);
    sub->add_option("--key", args->key, "the property that names a revision")
        ->type_name("PROPERTY");
    sub->add_option("--min-flip-rate", args->min_flip_rate,
                    "report steps flipping at least this often (0 to 1)")
        ->check(CLI::Range(0.0, 1.0))
        ->type_name("R");
    sub->callback([&global, &command, args] {
      command = [&global, args] { return run_flaky(global, *args); };
    });
  }
}

}  // namespace buildhist::cli
