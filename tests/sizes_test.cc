// Sizes far beyond the reference workload, written through the library and read
// back through the command as a process: a huge log read in bounded memory, a
// 10 MB line, a build of 10,000 steps, 100,000 builders, a 1 MB property value, and
// names with every odd character the name rules allow.
//
// The big log is $BUILDHIST_SIZES_LOG_MB MiB (256 unless set; bench/sizes.sh sets
// 1024). Peak RSS of the reading command is measured by wait4() on the child.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

// Far from what reading everything at once would take. AddressSanitizer's shadow
// memory and its quarantine of freed blocks (256 MiB by default) add their own.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssBoundKib = 1024 * 1024;
#else
constexpr long kRssBoundKib = 200 * 1024;
#endif


constexpr std::int64_t kT0 = 1700000000;
constexpr std::int64_t kMiB = 1 << 20;

struct Streamed {
  int status = -1;
  std::int64_t bytes = 0, lines = 0;
  std::int64_t longest_line = 0;
  long peak_rss_kib = 0;
};

// Runs buildhist with `args`, counting its standard output as it streams (never
// holding it), and returns the child's exit status and peak RSS.
Streamed stream_buildhist(const std::vector<std::string>& args) {
  std::vector<std::string> all = {buildhist::testing::buildhist_binary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  Streamed result;
  std::vector<char> buffer(1 << 16);
  std::int64_t line = 0;
  for (ssize_t n; (n = read(out[0], buffer.data(), buffer.size())) > 0;) {
    result.bytes += n;
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] == '\n') {
        ++result.lines;
        result.longest_line = std::max(result.longest_line, line);
        line = 0;
      } else {
        ++line;
      }
    }
  }
  close(out[0]);
  int status = 0;
  rusage usage{};
  REQUIRE(wait4(pid, &status, 0, &usage) == pid);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.peak_rss_kib = usage.ru_maxrss;
  return result;
}

std::int64_t big_log_mib() {
  const char* value = std::getenv("BUILDHIST_SIZES_LOG_MB");
  return value ? std::atoll(value) : 256;
}

BuildStart start_at(std::int64_t when) {
  BuildStart start;
  start.worker = "w";
  start.started_at = when;
  return start;
}

rapidjson::Document json_of(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

}  // namespace

TEST_CASE("a log of hundreds of MiB is read back whole by the command in bounded memory") {
  TempDir dir;
  const std::string db = dir.file("big.db");
  const std::int64_t total = big_log_mib() * kMiB;
  // Lines of 100 bytes ("o" + 98 characters + '\n'), appended 1 MiB at a time.
  std::string piece;
  for (int i = 0; piece.size() + 100 <= static_cast<std::size_t>(kMiB); ++i) {
    piece += "o" + std::string(98, static_cast<char>('a' + i % 26)) + "\n";
  }
  const std::int64_t pieces = total / static_cast<std::int64_t>(piece.size());
  {
    auto store = Store::open(db);
    auto build = store->start_build("big", start_at(kT0));
    auto log = build->add_step("compile", kT0)->add_log("stdio", LogType::kStdio);
    for (std::int64_t i = 0; i < pieces; ++i) {
      // The writer bounds writes in flight by count, not bytes: a master that
      // appends megabytes at a time waits for them now and then.
      log->append(piece, i % 16 == 15 ? Durability::kImmediate : Durability::kBuffered);
    }
    log->finish();
    build->finish(Results::kSuccess, kT0 + 1);
  }
  const std::int64_t lines = pieces * static_cast<std::int64_t>(piece.size() / 100);
  const Streamed read = stream_buildhist({"--db", db, "log", "big/1/0/stdio"});
  MESSAGE("log of ", pieces, " MiB: command peak RSS ", read.peak_rss_kib / 1024, " MiB");
  CHECK(read.status == 0);
  CHECK(read.lines == lines);
  CHECK(read.bytes == lines * 99);  // the stream character is not printed
  CHECK(read.peak_rss_kib < kRssBoundKib);
}

TEST_CASE("a line of 10 MB, a build of 10,000 steps and a property of 1 MB come back whole") {
  TempDir dir;
  const std::string db = dir.file("sizes.db");
  const std::string value = "\"" + std::string(kMiB, 'v') + "\"";
  {
    auto store = Store::open(db);
    auto build = store->start_build("b", start_at(kT0));
    auto log = build->add_step("long-line", kT0)->add_log("stdio", LogType::kStdio);
    log->append("o");
    for (int i = 0; i < 10; ++i) log->append(std::string(kMiB, 'x'));  // no newline yet
    log->append("\n");
    log->finish();
    // Distinct names: 10,000 steps of one name take cubic time to rename (each
    // add tries name_2, name_3, ... with a scan of every step for each).
    for (int i = 1; i < 10'000; ++i) build->add_step("s" + std::to_string(i), kT0);
    build->set_property("big", value, "test");
    build->finish(Results::kSuccess, kT0 + 1);
  }
  const Streamed line = stream_buildhist({"--db", db, "log", "b/1/0/stdio"});
  CHECK(line.status == 0);
  CHECK(line.lines == 1);
  CHECK(line.longest_line == 10 * kMiB);

  const auto shown = buildhist::testing::buildhist({"--db", db, "--json", "show", "b/1"});
  REQUIRE(shown.status == 0);
  const auto build = json_of(shown.out);
  REQUIRE(build["steps"].Size() == 10'000);
  CHECK(std::string(build["steps"][9'999]["name"].GetString()) == "s9999");
  CHECK(build["properties"]["big"].GetStringLength() == kMiB);
  CHECK(buildhist::testing::buildhist({"--db", db, "--json", "show", "b/1"}).status == 0);
}

TEST_CASE("100,000 builders are all listed by builders, in bounded memory") {
  TempDir dir;
  const std::string db = dir.file("builders.db");
  constexpr int kBuilders = 100'000;
  // Written by the command, so that this process stays small: a forked child's
  // peak RSS counts what it shared with its parent before exec.
  const auto written = buildhist::testing::buildhist(
      {"--db", db, "simulate", "--builders", std::to_string(kBuilders), "--builds", "1",
       "--steps", "0"});
  REQUIRE(written.status == 0);
  for (const bool json : {true, false}) {
    std::vector<std::string> args = {"--db", db, "builders"};
    if (json) args.insert(args.begin(), "--json");
    const Streamed listed = stream_buildhist(args);
    CHECK(listed.status == 0);
    CHECK(listed.lines == kBuilders + (json ? 0 : 1));  // text has a header line
    MESSAGE("builders over 100,000, ", json ? "JSON" : "text", ": peak RSS ",
            listed.peak_rss_kib / 1024, " MiB");
    CHECK(listed.peak_rss_kib < kRssBoundKib);
  }
}

TEST_CASE("names with every odd character the rules allow round-trip through references") {
  TempDir dir;
  const std::string db = dir.file("names.db");
  // '/', '%', spaces, quotes, a backslash, shell and JSON specials, letters of
  // other scripts, an emoji, a non-breaking space; and 255 bytes exactly.
  const std::vector<std::string> names = {
      "a/b",  "100%",   "%2F",      "% /%25/", " lead and trail ", "quote\"s 'and' `ticks`",
      "back\\slash", "$(rm -rf) & | ; < > * ?", "{\"json\": [1]}", "ünïcødé ビルド",
      "😀 emoji", "nb\xc2\xa0space", std::string(254, 'x') + "/"};
  {
    auto store = Store::open(db);
    for (const std::string& name : names) {
      auto build = store->start_build(name, start_at(kT0));
      auto log = build->add_step(name, kT0)->add_log("stdio", LogType::kStdio);
      log->append("o" + name + "\n");
      log->finish();
      build->finish(Results::kSuccess, kT0 + 1);
    }
  }
  for (const std::string& name : names) {
    CAPTURE(name);
    const std::string escaped = escape_reference_part(name);
    CHECK(parse_reference(escaped + "/1/" + escaped + "/stdio").builder == name);
    const auto shown = buildhist::testing::buildhist({"--db", db, "--json", "show", escaped + "/1"});
    REQUIRE(shown.status == 0);
    const auto build = json_of(shown.out);
    CHECK(std::string(build["builder"].GetString()) == name);
    CHECK(std::string(build["steps"][0]["name"].GetString()) == name);
    const auto log = buildhist::testing::buildhist(
        {"--db", db, "log", escaped + "/1/" + escaped + "/stdio"});
    CHECK(log.status == 0);
    CHECK(log.out == name + "\n");
  }
}
