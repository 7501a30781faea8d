// `buildhist grep` as a user runs it: the real binary over stores written through
// the public API, its answers compared with GNU grep run over the same logs
// written out as files; with the log text stored as appended (codec 0, many small
// chunks) and after `buildhist compact` (codec 1, zstd).
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <sqlite3.h>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::ProcessResult;
using buildhist::testing::TempDir;

namespace {

constexpr std::int64_t kT0 = 1795305600;  // 2026-11-22T00:00:00Z

ProcessResult run(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {"--db", db, "grep"});
  return buildhist::testing::buildhist(args);
}

// The text of line `i` of log `n`: words, UTF-8, bytes that are not UTF-8, and
// lines GNU grep and RE2 must agree on.
std::string line_text(int n, int i) {
  static const char* kLines[] = {
      "[@] Building CXX object net.o",
      "error: undefined reference to `foo_bar'",
      "warning: unused variable 'Foo' [-Wunused]",
      "  test_case_@ ... ok",
      "ERROR fatal in stage @",
      "caf\xc3\xa9 na\xc3\xafve \xe2\x9c\x93 done",
      "raw \xff\xfe bytes @ error",
      "foobar qux foo_bar foo",
      "",
      "x=@; y=errors; // errorless",
  };
  std::string text = kLines[(i * 7 + n) % 10];
  if (const auto at = text.find('@'); at != std::string::npos) {
    text.replace(at, 1, std::to_string(i + n));
  }
  return text;
}

struct Fixture {
  TempDir dir;
  std::string db = dir.file("grep.db");
  // Each log's text as `buildhist log` prints it, by reference.
  std::map<std::string, std::string> logs;

  // builders a and b/x (a name to escape), builds 1..3, each with steps compile
  // (a stdio log written in many small chunks) and test (a text log).
  Fixture() {
    auto store = Store::open(db);
    for (const std::string builder : {"a", "b/x"}) {
      for (int n = 1; n <= 3; ++n) {
        BuildStart start;
        start.worker = "w";
        start.started_at = kT0 + n * 3600 + (builder == "a" ? 0 : 60);
        start.properties = {{"got_revision", "\"rev" + std::to_string(n) + "\"", "Git"}};
        auto build = store->start_build(builder, start);
        const std::string ref = escape_reference_part(builder) + "/" + std::to_string(n);
        auto compile = build->add_step("compile", start.started_at);
        auto stdio = compile->add_log("stdio", LogType::kStdio);
        std::string& text = logs[ref + "/compile/stdio"];
        for (int i = 0; i < 60; ++i) {
          const std::string line = line_text(n, i);
          stdio->append((i % 3 == 0 ? "e" : "o") + line + "\n", Durability::kImmediate);
          text += line + "\n";
        }
        stdio->finish();
        compile->finish(Results::kSuccess, start.started_at + 10);
        auto test = build->add_step("test", start.started_at + 10);
        auto plain = test->add_log("log", LogType::kText);
        std::string& test_text = logs[ref + "/test/log"];
        for (int i = 0; i < 25; ++i) {
          const std::string line = line_text(n + 5, i);
          plain->append(line + "\n", Durability::kImmediate);
          test_text += line + "\n";
        }
        plain->finish();
        test->finish(n == 2 ? Results::kFailure : Results::kSuccess, start.started_at + 20);
        build->finish(n == 2 ? Results::kFailure : Results::kSuccess, start.started_at + 30);
      }
    }
    store->flush();
  }

  void compact() {
    const ProcessResult result = buildhist::testing::buildhist({"--db", db, "compact"});
    REQUIRE(result.status == 0);
  }

  // How many chunks of each codec the store holds.
  std::map<int, int> codecs() const {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* query = nullptr;
    sqlite3_prepare_v2(handle, "SELECT codec, count(*) FROM log_chunk GROUP BY codec", -1, &query,
                       nullptr);
    std::map<int, int> counts;
    while (sqlite3_step(query) == SQLITE_ROW) {
      counts[sqlite3_column_int(query, 0)] = sqlite3_column_int(query, 1);
    }
    sqlite3_finalize(query);
    sqlite3_close(handle);
    return counts;
  }
};

// GNU grep's `-n` output for one log, written out to a file, in the C locale.
std::string gnu_grep(const TempDir& dir, const std::string& text,
                     const std::vector<std::string>& options, const std::string& pattern) {
  const std::string file = dir.file("log.txt");
  std::ofstream(file, std::ios::binary) << text;
  std::vector<std::string> args = {"-n", "-a"};
  args.insert(args.end(), options.begin(), options.end());
  args.insert(args.end(), {"-e", pattern, file});
  const ProcessResult result =
      buildhist::testing::run_process("/bin/grep", args, {{"LC_ALL", "C"}});
  REQUIRE(result.status <= 1);
  return result.out;
}

// Our output for one log in GNU grep's form: the reference dropped, lines from 1.
std::string as_gnu(const std::string& ours, const std::string& reference) {
  std::string out;
  std::size_t at = 0;
  while (at < ours.size()) {
    const std::size_t end = ours.find('\n', at);
    const std::string line = ours.substr(at, end - at);
    at = end + 1;
    if (line == "--") {
      out += "--\n";
      continue;
    }
    REQUIRE(line.rfind(reference, 0) == 0);
    const char mark = line[reference.size()];
    const std::size_t number_end = line.find(mark, reference.size() + 1);
    const long number = std::stol(line.substr(reference.size() + 1, number_end));
    REQUIRE(line[number_end + 1] == ' ');
    out += std::to_string(number + 1) + mark + line.substr(number_end + 2) + "\n";
  }
  return out;
}

// Every line of every log that `options pattern` selects, compared log by log with
// GNU grep.
void compare_with_gnu(const Fixture& f, const std::vector<std::string>& options,
                      const std::string& pattern) {
  std::vector<std::string> args = options;
  args.push_back(pattern);
  const ProcessResult all = run(f.db, args);
  INFO("pattern ", pattern, ": ", all.err);
  REQUIRE(all.status <= 1);
  std::map<std::string, std::string> by_log;
  std::size_t at = 0;
  while (at < all.out.size()) {
    const std::size_t end = all.out.find('\n', at);
    const std::string line = all.out.substr(at, end + 1 - at);
    at = end + 1;
    bool placed = false;
    for (const auto& [reference, text] : f.logs) {
      if (line.rfind(reference + ":", 0) == 0) {
        by_log[reference] += line;
        placed = true;
      }
    }
    CHECK(placed);
  }
  std::size_t matched = 0;
  for (const auto& [reference, text] : f.logs) {
    const std::string expected = gnu_grep(f.dir, text, options, pattern);
    CHECK(as_gnu(by_log[reference], reference) == expected);
    matched += !expected.empty();
  }
  CHECK((all.status == 0) == (matched > 0));
}

void compare_everything(Fixture& f) {
  compare_with_gnu(f, {"-F"}, "error");
  compare_with_gnu(f, {"-F"}, "foo_bar'");
  compare_with_gnu(f, {"-F", "-i"}, "error");
  compare_with_gnu(f, {"-E", "-i"}, "error|warn[a-z]+");
  compare_with_gnu(f, {"-w"}, "foo");
  compare_with_gnu(f, {"-E", "-w", "-i"}, "errors?");
  compare_with_gnu(f, {"-E"}, "^ERROR");
  compare_with_gnu(f, {"-E"}, "done$");
  compare_with_gnu(f, {"-E"}, "^$");
  compare_with_gnu(f, {"-F"}, "caf\xc3\xa9");
  compare_with_gnu(f, {"-F"}, "\xff\xfe");
  compare_with_gnu(f, {"-E"}, "[0-9]+ error");
}

// One log's output with context, against GNU grep's with the same context.
void compare_context(const Fixture& f, const std::vector<std::string>& context) {
  const std::string reference = "a/2/compile/stdio";
  for (const std::string pattern : {"error", "ok$", "Building"}) {
    std::vector<std::string> args = context;
    args.insert(args.end(), {"--log", "stdio", "--since", "2026-11-22T02:00:00Z", "--until",
                             "2026-11-22T02:00:30Z", pattern});
    const ProcessResult ours = run(f.db, args);
    INFO(pattern, ": ", ours.err);
    REQUIRE(ours.status == 0);
    CHECK(as_gnu(ours.out, reference) == gnu_grep(f.dir, f.logs.at(reference), context, pattern));
  }
}

}  // namespace

TEST_CASE("grep finds what GNU grep finds, in text chunks and in zstd chunks") {
  Fixture f;
  CHECK(f.codecs().count(1) == 0);
  CHECK(f.codecs().at(0) > 300);  // a chunk an append: lines cross chunk boundaries
  compare_everything(f);
  compare_context(f, {"-C", "2"});
  compare_context(f, {"-A", "3"});
  compare_context(f, {"-B", "4"});
  f.compact();
  CHECK(f.codecs().count(1) == 1);
  CHECK(f.codecs().count(0) == 0);
  compare_everything(f);
  compare_context(f, {"-C", "2"});
  compare_context(f, {"-A", "1", "-B", "5"});
}

TEST_CASE("grep prints matches newest build first, with escaped references") {
  Fixture f;
  const ProcessResult result = run(f.db, {"-m", "2", "-F", "foo_bar'"});
  CHECK(result.status == 0);
  CHECK(result.out ==
        "b%2Fx/3/compile/stdio:4: error: undefined reference to `foo_bar'\n"
        "b%2Fx/3/compile/stdio:14: error: undefined reference to `foo_bar'\n");
}

TEST_CASE("grep -l, -c, --first and --last") {
  Fixture f;
  // Logs in output order: newest build first (b/x's start a minute after a's).
  std::string listed;
  for (const std::string build : {"b%2Fx/3", "a/3", "b%2Fx/2", "a/2", "b%2Fx/1", "a/1"}) {
    for (const std::string log : {"/compile/stdio", "/test/log"}) {
      if (f.logs[build + log].find("test_case_1") != std::string::npos) listed += build + log + "\n";
    }
  }
  CHECK(!listed.empty());
  CHECK(run(f.db, {"-l", "-F", "test_case_1"}).out == listed);
  // Per log, the matching lines: GNU grep -c's figure, and only logs with some.
  std::string expected;
  for (const int n : {3, 2, 1}) {
    const std::string reference = "a/" + std::to_string(n) + "/test/log";
    const std::string count = gnu_grep(f.dir, f.logs[reference], {"-c"}, "ERROR fatal");
    if (count != "0\n") expected += reference + ":" + count;
  }
  CHECK(!expected.empty());
  CHECK(run(f.db, {"-c", "--log", "log", "ERROR fatal", "a"}).out == expected);
  CHECK(run(f.db, {"-l", "--first", "ok$"}).out ==
        "a/1/compile/stdio\na/1/test/log\nb%2Fx/1/compile/stdio\nb%2Fx/1/test/log\n");
  CHECK(run(f.db, {"-l", "--last", "ok$", "a"}).out == "a/3/compile/stdio\na/3/test/log\n");
  CHECK(run(f.db, {"-l", "-m", "1", "ok$"}).out == "b%2Fx/3/compile/stdio\n");
}

TEST_CASE("grep's filters: builders, --result, --step, --log, --since, --until") {
  Fixture f;
  const auto logs = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"-l", "error"});
    return run(f.db, args).out;
  };
  CHECK(logs({"--result", "failure", "--step", "test"}) == "b%2Fx/2/test/log\na/2/test/log\n");
  CHECK(logs({"b/x", "--log", "stdio", "--until", "2026-11-22T02:00:00Z"}) ==
        "b%2Fx/1/compile/stdio\n");
  CHECK(logs({"a", "--since", "1795316400", "--log", "log"}) == "a/3/test/log\n");
  CHECK(logs({"--since", "1d"}).empty());  // a day ago is after every build here
  CHECK(run(f.db, {"--since", "1d", "error"}).status == 1);
}

TEST_CASE("grep --json: one object a match with the build's fields") {
  Fixture f;
  const ProcessResult result = run(f.db, {"--json", "-m", "1", "-F", "caf\xc3\xa9", "a"});
  REQUIRE(result.status == 0);
  rapidjson::Document json;
  json.Parse(result.out.c_str());
  REQUIRE(json.IsObject());
  CHECK(std::string(json["type"].GetString()) == "match");
  CHECK(std::string(json["builder"].GetString()) == "a");
  CHECK(json["number"].GetInt() == 3);
  CHECK(std::string(json["results"].GetString()) == "success");
  CHECK(json["started_at"].GetInt64() == kT0 + 3 * 3600);
  CHECK(std::string(json["got_revision"].GetString()) == "rev3");
  CHECK(std::string(json["step"].GetString()) == "compile");
  CHECK(std::string(json["log"].GetString()) == "stdio");
  CHECK(std::string(json["text"].GetString()).rfind("caf\xc3\xa9", 0) == 0);
  CHECK(std::string(json["stream"].GetString()).size() == 1);
}

TEST_CASE("grep's exit statuses: 0 a match, 1 none, 2 any error, in one line") {
  Fixture f;
  CHECK(run(f.db, {"error"}).status == 0);
  CHECK(run(f.db, {"no such text anywhere"}).status == 1);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"a("}, {"-E", "x{2,1}"}, {"[z-a]"},
                                             {"--result", "nope", "x"}, {"--since", "yesterday", "x"},
                                             {"-l", "-c", "x"}, {"x", "no-such-builder"}, {}}) {
    const ProcessResult result = run(f.db, args);
    const std::string first = args.empty() ? "(none)" : args[0];
    INFO(first);
    CHECK(result.status == 2);
    CHECK(result.out.empty());
    CHECK(result.err.rfind("buildhist: error: ", 0) == 0);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  }
  const ProcessResult missing = run(f.dir.file("missing.db"), {"x"});
  CHECK(missing.status == 2);
  CHECK(missing.err.find("missing.db") != std::string::npos);
}

// Found by fuzz_grep_pattern: the whole-buffer search matched \A, \z and a
// (?-m) ^ or $ at the log's ends only, so every line but the first (or last) was
// missed; each line must be searched as if alone, as GNU grep does.
TEST_CASE("grep's text anchors \\A, \\z and (?-m) anchor to each line, not to the log") {
  Fixture f;
  // As appended (a few lines a chunk), then compacted (a log a chunk, where a
  // search of the whole chunk sees many lines at once).
  for (const bool compacted : {false, true}) {
    if (compacted) f.compact();
    INFO("compacted: ", compacted);
    const std::string starts = run(f.db, {"-c", "^ERROR"}).out;
    const std::string ends = run(f.db, {"-c", "done$"}).out;
    REQUIRE(!starts.empty());
    REQUIRE(!ends.empty());
    CHECK(run(f.db, {"-c", "\\AERROR"}).out == starts);
    CHECK(run(f.db, {"-c", "(?-m)^ERROR"}).out == starts);
    CHECK(run(f.db, {"-c", "done\\z"}).out == ends);
    CHECK(run(f.db, {"-c", "(?-m:done$)"}).out == ends);
  }
}

// Found by fuzz_grep_pattern: -w wrapped a pattern that is no regex on its own,
// "a)|(b", into one that is, and searched for something else.
TEST_CASE("grep -w refuses the patterns grep without -w refuses") {
  Fixture f;
  for (const std::string pattern : {"a)|(b", "x)(y", "(a"}) {
    INFO(pattern);
    CHECK(run(f.db, {pattern}).status == 2);
    const ProcessResult word = run(f.db, {"-w", pattern});
    CHECK(word.status == 2);
    CHECK(word.err.find("bad pattern") != std::string::npos);
  }
  // And accepts what it accepts: a \Q quote left open runs to the pattern's end,
  // not over -w's closing part. "foo_bar'" is in the fixture's lines as a word.
  CHECK(run(f.db, {"\\Qfoo_bar'"}).status == 0);
  CHECK(run(f.db, {"-w", "\\Qfoo_bar'"}).status == 0);
}

// Found by fuzz_grep_pattern: RE2's error quotes the pattern, and so did ours, as
// it was: an escape sequence in a pattern reached the terminal.
TEST_CASE("a bad pattern's error quotes its control bytes and bytes that are not UTF-8") {
  Fixture f;
  const ProcessResult result = run(f.db, {"\x1b[31m(\xff"});
  CHECK(result.status == 2);
  CHECK(result.err.find('\x1b') == std::string::npos);
  CHECK(result.err.find('\xff') == std::string::npos);
  CHECK(result.err.find("\\x1b[31m(\\xff") != std::string::npos);
}

TEST_CASE("a 10 MB line is found and printed whole") {
  TempDir dir;
  const std::string db = dir.file("long.db");
  std::string line(10 << 20, 'x');
  line.replace(line.size() - 6, 6, "NEEDLE");
  {
    auto store = Store::open(db);
    BuildStart start;
    start.worker = "w";
    start.started_at = kT0;
    auto build = store->start_build("long", start);
    auto step = build->add_step("s", kT0);
    auto log = step->add_log("stdio", LogType::kStdio);
    log->append("oshort\n");
    log->append("o" + line + "\n");
    log->append("oafter NEEDLE\n");
    log->finish();
    step->finish(Results::kSuccess, kT0 + 1);
    build->finish(Results::kSuccess, kT0 + 1, Durability::kImmediate);
  }
  for (int pass = 0; pass < 2; ++pass) {
    CHECK(run(db, {"-c", "NEEDLE$"}).out == "long/1/s/stdio:2\n");
    const ProcessResult result = run(db, {"-E", "x+NEEDLE"});
    CHECK(result.out == "long/1/s/stdio:1: " + line + "\n");
    buildhist::testing::buildhist({"--db", db, "compact"});
  }
}

TEST_CASE("a literal is not found where it would begin with a stdio line's stream character") {
  Fixture f;
  // "e" + "error: ..." is stored as "eerror: ...": the text has no "eerror".
  for (const std::vector<std::string>& options :
       {std::vector<std::string>{"-c"}, {"-l"}, {}}) {
    std::vector<std::string> args = options;
    args.insert(args.end(), {"-F", "eerror"});
    const ProcessResult result = run(f.db, args);
    CHECK(result.status == 1);
    CHECK(result.out.empty());
  }
  // The same lines are found by what they do hold.
  CHECK(run(f.db, {"-c", "-F", "error: undefined"}).status == 0);
}

TEST_CASE("a search across many more chunks than are in flight at once keeps its order") {
  // 150 builds of one builder, each a stdio log of 400 lines in 40 appends: about
  // 4 MB of text in 6,000 chunks, many times what the search decodes at once.
  TempDir dir;
  const std::string db = dir.file("many.db");
  constexpr int kBuilds = 150;
  std::vector<std::string> texts(kBuilds + 1);  // by build number
  {
    auto store = Store::open(db);
    for (int n = 1; n <= kBuilds; ++n) {
      BuildStart start;
      start.worker = "w";
      start.started_at = kT0 + n * 60;
      auto build = store->start_build("big", start);
      auto step = build->add_step("compile", start.started_at);
      auto stdio = step->add_log("stdio", LogType::kStdio);
      std::string piece;
      for (int i = 0; i < 400; ++i) {
        const std::string line = line_text(n, i) + " #" + std::to_string(n * 1000 + i);
        piece += "o" + line + "\n";
        texts[n] += line + "\n";
        if (i % 10 == 9) {
          stdio->append(piece);
          piece.clear();
        }
      }
      stdio->finish();
      step->finish(Results::kSuccess, start.started_at + 10);
      build->finish(Results::kSuccess, start.started_at + 20);
    }
    store->flush();
  }
  // What every build's log must give, newest build first.
  const auto expected = [&](const std::string& needle, bool counts, int max_count) {
    std::string out;
    int found = 0;
    for (int n = kBuilds; n >= 1 && (max_count == 0 || found < max_count); --n) {
      int in_log = 0, number = 0;
      for (std::size_t at = 0; at < texts[n].size(); ++number) {
        const std::size_t end = texts[n].find('\n', at);
        const std::string line = texts[n].substr(at, end - at);
        at = end + 1;
        if (line.find(needle) == std::string::npos) continue;
        ++in_log;
        if (!counts) out += "big/" + std::to_string(n) + "/compile/stdio:" +
                            std::to_string(number) + ": " + line + "\n";
        if (max_count != 0 && ++found == max_count) break;
      }
      if (counts && in_log > 0) {
        out += "big/" + std::to_string(n) + "/compile/stdio:" + std::to_string(in_log) + "\n";
      }
    }
    return out;
  };
  const auto check_all = [&] {
    CHECK(run(db, {"-c", "-F", "unused variable"}).out == expected("unused variable", true, 0));
    CHECK(run(db, {"-c", "-E", "unused var(i)able"}).out == expected("unused variable", true, 0));
    CHECK(run(db, {"-F", "#42"}).out == expected("#42", false, 0));
    CHECK(run(db, {"-m", "700", "-F", "error"}).out == expected("error", false, 700));
  };
  check_all();
  REQUIRE(buildhist::testing::buildhist({"--db", db, "compact"}).status == 0);
  check_all();
}
