// import-buildbot, export and import, run as the real command on a real buildbot
// database written by buildbot 3.7's own DB connector (tests/fixtures/buildbot/),
// and compared with what buildbot's own code reads back from it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <sqlite3.h>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"

using buildhist::testing::ProcessResult;
using buildhist::testing::TempDir;
using buildhist::testing::run_process;
using rapidjson::Document;
using rapidjson::Value;

namespace {

const char* const kResultNames[] = {"success", "warnings", "failure", "skipped",
                                    "exception", "retry", "cancelled"};

std::string env(const char* name) {
  const char* value = std::getenv(name);
  REQUIRE_MESSAGE(value != nullptr, name << " is set by tests/meson.build");
  return value;
}

std::string fixture() { return env("BUILDBOT_FIXTURE"); }

// Runs tests/fixtures/buildbot/buildbot_db.py with Debian's python3 (buildbot 3.7).
ProcessResult buildbot_db(const std::vector<std::string>& args) {
  std::vector<std::string> all = {env("BUILDBOT_DB_PY")};
  all.insert(all.end(), args.begin(), args.end());
  ProcessResult result = run_process("/usr/bin/python3", all);
  REQUIRE_MESSAGE(result.status == 0, result.err);
  return result;
}

ProcessResult run(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {"--db", db});
  return buildhist::testing::buildhist(args);
}

ProcessResult ok(const std::string& db, const std::vector<std::string>& args) {
  ProcessResult result = run(db, args);
  REQUIRE_MESSAGE(result.status == 0, result.err);
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Document parse(const std::string& text) {
  Document document;
  document.Parse(text.c_str());
  REQUIRE_MESSAGE(!document.HasParseError(), text);
  return document;
}

std::string reference(const Value& build) {
  std::string name = build["builder"].GetString();
  std::string escaped;
  for (char c : name) escaped += c == '/' ? std::string("%2F") : std::string(1, c);
  return escaped + "/" + std::to_string(build["number"].GetInt());
}

void check_results(const Value& theirs, const Value& ours) {
  if (theirs.IsNull()) {
    CHECK(ours.IsNull());
  } else {
    REQUIRE(ours.IsString());
    CHECK(std::string(ours.GetString()) == kResultNames[theirs.GetInt()]);
  }
}

void check_int_or_null(const Value& theirs, const Value& ours) {
  if (theirs.IsNull()) {
    CHECK(ours.IsNull());
  } else {
    CHECK(ours.GetInt64() == theirs.GetInt64());
  }
}

// Every build buildbot's code reads back from `buildbot` is in the store at `db`,
// field by field, and every log line by line.
void check_store_matches_buildbot(const std::string& db, const std::string& buildbot) {
  const auto dump = lines_of(buildbot_db({"dump", buildbot}).out);
  REQUIRE(dump.size() > 5);
  // Property sources are not in `show`: the export line has them.
  std::map<std::string, Document> exported;
  for (const std::string& line : lines_of(ok(db, {"export"}).out)) {
    Document d = parse(line);
    exported[reference(d)] = std::move(d);
  }
  CHECK(exported.size() == dump.size());
  for (const std::string& line : dump) {
    const Document theirs = parse(line);
    const std::string ref = reference(theirs);
    CAPTURE(ref);
    const Document ours = parse(ok(db, {"--json", "show", ref}).out);
    CHECK(std::string(ours["worker"].GetString()) == theirs["worker"].GetString());
    CHECK(ours["started_at"].GetInt64() == theirs["started_at"].GetInt64());
    check_int_or_null(theirs["complete_at"], ours["complete_at"]);
    CHECK(std::string(ours["state_string"].GetString()) == theirs["state_string"].GetString());
    check_results(theirs["results"], ours["results"]);
    const Value& props = ours["properties"];
    CHECK(props.MemberCount() == theirs["properties"].MemberCount());
    for (const auto& p : theirs["properties"].GetObject()) {
      REQUIRE(props.HasMember(p.name));
      CHECK(props[p.name] == p.value["value"]);
    }
    REQUIRE(exported.count(ref) == 1);
    for (const Value& p : exported[ref]["properties"].GetArray()) {
      CHECK(theirs["properties"][p["name"]]["source"] == p["source"]);
    }
    const Value& steps = ours["steps"];
    REQUIRE(steps.Size() == theirs["steps"].Size());
    for (rapidjson::SizeType s = 0; s < steps.Size(); ++s) {
      const Value& a = theirs["steps"][s];
      const Value& b = steps[s];
      CHECK(b["number"].GetInt() == a["number"].GetInt());
      CHECK(std::string(b["name"].GetString()) == a["name"].GetString());
      CHECK(std::string(b["state_string"].GetString()) == a["state_string"].GetString());
      check_results(a["results"], b["results"]);
      check_int_or_null(a["started_at"], b["started_at"]);
      check_int_or_null(a["complete_at"], b["complete_at"]);
      CHECK(b["hidden"].GetBool() == a["hidden"].GetBool());
      CHECK(b["urls"] == a["urls"]);
      REQUIRE(b["logs"].Size() == a["logs"].Size());
      for (rapidjson::SizeType l = 0; l < a["logs"].Size(); ++l) {
        const Value& la = a["logs"][l];
        const Value& lb = b["logs"][l];
        CAPTURE(la["slug"].GetString());
        CHECK(std::string(lb["slug"].GetString()) == la["slug"].GetString());
        CHECK(std::string(lb["name"].GetString()) == la["name"].GetString());
        CHECK(lb["complete"].GetBool() == la["complete"].GetBool());
        if (std::string(la["type"].GetString()) == "d") {
          // Text buildbot deleted: a text log of no lines, as buildhist's retention leaves one.
          CHECK(std::string(lb["type"].GetString()) == "t");
          CHECK(lb["num_lines"].GetInt64() == 0);
          continue;
        }
        CHECK(std::string(lb["type"].GetString()) == la["type"].GetString());
        CHECK(lb["num_lines"].GetInt64() == la["num_lines"].GetInt64());
        const auto log_lines = lines_of(
            ok(db, {"--json", "log", ref + "/" + std::to_string(b["number"].GetInt()) + "/" +
                                     lb["slug"].GetString()}).out);
        REQUIRE(log_lines.size() == la["lines"].Size());
        for (std::size_t i = 0; i < log_lines.size(); ++i) {
          const Document row = parse(log_lines[i]);
          std::string text = row["text"].GetString();
          if (row.HasMember("stream")) text = row["stream"].GetString() + text;
          CHECK(row["line"].GetInt64() == static_cast<std::int64_t>(i));
          CHECK(text == la["lines"][static_cast<rapidjson::SizeType>(i)].GetString());
        }
      }
    }
  }
}

void sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, message);
}

std::int64_t count(const std::string& path, const std::string& query) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;  // no such file
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* statement = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, query.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW) {
    value = sqlite3_column_int64(statement, 0);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

std::string copy_fixture(const TempDir& dir, const std::string& name) {
  const std::string path = dir.file(name);
  std::filesystem::copy_file(fixture(), path);
  return path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void check_one_error(const ProcessResult& result, int status, const std::string& mentions) {
  CHECK(result.status == status);
  const auto err = lines_of(result.err);
  REQUIRE_MESSAGE(err.size() == 1, result.err);
  CHECK(err[0].rfind("buildhist: error: ", 0) == 0);
  CHECK_MESSAGE(err[0].find(mentions) != std::string::npos, err[0]);
}

}  // namespace

TEST_CASE("import-buildbot holds every build, property, step and log line buildbot reads back") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  const std::string before = slurp(fixture());
  const ProcessResult result = ok(db, {"import-buildbot", fixture()});
  CHECK(result.out.find("imported: 12 builds of 3 builders") != std::string::npos);
  check_store_matches_buildbot(db, fixture());
  CHECK(slurp(fixture()) == before);  // opened read-only, never written
  ok(db, {"check"});
  // The fixture has a chunk of each of buildbot 3.7's compressions.
  for (int code = 0; code <= 3; ++code) {
    CHECK(count(fixture(), "SELECT count(*) FROM logchunks WHERE compressed = " +
                               std::to_string(code)) > 0);
  }
}

TEST_CASE("import-buildbot again imports only what buildbot added since, and finishes the running build") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  const std::string grown = copy_fixture(dir, "grown.sqlite");
  ok(db, {"import-buildbot", grown});
  const ProcessResult again = ok(db, {"--json", "import-buildbot", grown});
  CHECK(parse(again.out)["builds"].GetInt() == 0);
  CHECK(parse(ok(db, {"--json", "show", "linux-gcc/6"}).out)["results"].IsNull());

  buildbot_db({"grow", grown});
  const Document summary = parse(ok(db, {"--json", "import-buildbot", grown}).out);
  CHECK(summary["builds"].GetInt() == 3);  // the finished one, and one new build in two builders
  check_store_matches_buildbot(db, grown);
  CHECK(std::string(parse(ok(db, {"--json", "show", "linux-gcc/6"}).out)["results"].GetString()) ==
        "failure");
  CHECK(count(db, "SELECT count(*) FROM build") == 14);
  ok(db, {"check"});
}

TEST_CASE("import-buildbot --builder imports that builder alone; --dry-run writes nothing") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  const Document dry = parse(ok(db, {"--json", "import-buildbot", "--dry-run", fixture()}).out);
  CHECK(dry["builds"].GetInt() == 12);
  CHECK_FALSE(std::filesystem::exists(db));
  ok(db, {"import-buildbot", "--builder", "mac/clang", fixture()});
  CHECK(count(db, "SELECT count(*) FROM build") == 4);
  CHECK(count(db, "SELECT count(*) FROM builder") == 1);
}

TEST_CASE("import-buildbot killed with SIGKILL mid-import: the next run completes it exactly") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  const std::string workload = dir.file("workload.sqlite");
  buildbot_db({"workload", workload, "2", "8"});
  // Kill it as soon as the first builds are committed.
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string bin = buildhist::testing::buildhist_binary();
    execl(bin.c_str(), bin.c_str(), "--db", db.c_str(), "import-buildbot", workload.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  std::int64_t seen = 0;
  int status = 0;
  bool exited = false;
  while (seen < 1) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (std::filesystem::exists(db)) seen = std::max<std::int64_t>(0, count(db, "SELECT count(*) FROM build"));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  const std::int64_t after_kill = count(db, "SELECT count(*) FROM build");
  MESSAGE("killed after " << after_kill << " of 16 builds");
  CHECK(after_kill < 16);
  ok(db, {"check"});  // never half a build
  ok(db, {"import-buildbot", workload});
  CHECK(count(db, "SELECT count(*) FROM build") == 16);
  check_store_matches_buildbot(db, workload);
}

TEST_CASE("export, import into an empty store, export again: byte-identical") {
  TempDir dir;
  const std::string first = dir.file("first.db");
  const std::string second = dir.file("second.db");
  ok(first, {"import-buildbot", fixture()});
  const std::vector<std::string> args = {"export", "--with-logs"};
  const std::string exported = ok(first, args).out;
  const std::string file = dir.file("export.jsonl");
  std::ofstream(file, std::ios::binary) << exported;
  ok(second, {"import", file});
  CHECK(ok(second, args).out == exported);
  // Importing it again changes nothing.
  CHECK(parse(ok(second, {"--json", "import", file}).out)["skipped"].GetInt() == 12);
  check_store_matches_buildbot(second, fixture());
  const std::string only = ok(first, {"export", "mac/clang", "--since", "2026-01-01T00:08:00Z"}).out;
  CHECK(lines_of(only).size() == 2);
}

TEST_CASE("a log whose text compact purged is exported and imported purged, with its line count") {
  TempDir dir;
  const std::string first = dir.file("first.db");
  const std::string second = dir.file("second.db");
  ok(first, {"import-buildbot", fixture()});
  ok(first, {"compact", "--logs-older-than", "1d"});  // every build finished long ago
  const char* kPurged = "SELECT count(*) FROM log WHERE purged_at IS NOT NULL AND num_lines > 0";
  const std::int64_t purged = count(first, kPurged);
  REQUIRE(purged > 0);
  const std::string exported = ok(first, {"export", "--with-logs"}).out;
  CHECK(exported.find("\"purged_at\":1") != std::string::npos);
  const std::string file = dir.file("export.jsonl");
  std::ofstream(file, std::ios::binary) << exported;
  ok(second, {"import", file});
  CHECK(count(second, kPurged) == purged);
  CHECK(ok(second, {"export", "--with-logs"}).out == exported);
  CHECK(ok(second, {"check"}).out == "ok: no problems found\n");
}

TEST_CASE("import-buildbot refuses what is not a buildbot database it knows, naming why") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  const std::string text = dir.file("notes.txt");
  std::ofstream(text) << "not a database at all, just some text\n";
  check_one_error(run(db, {"import-buildbot", text}), 1, text);

  const std::string future = copy_fixture(dir, "future.sqlite");
  sql(future, "UPDATE alembic_version SET version_num = '999'");
  check_one_error(run(db, {"import-buildbot", future}), 1, "unknown schema version '999'");

  const std::string missing = copy_fixture(dir, "missing.sqlite");
  sql(missing, "DROP TABLE logchunks");
  check_one_error(run(db, {"import-buildbot", missing}), 1, "without table logchunks");
  CHECK(count(db, "SELECT count(*) FROM build") <= 0);
}

TEST_CASE("a chunk that does not decode: the rest is imported, that log is not complete, exit 1") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  const std::string damaged = copy_fixture(dir, "damaged.sqlite");
  // The second chunk of mac/clang/2's compile log (bz2): garbage.
  sql(damaged,
      "UPDATE logchunks SET content = x'425a6839deadbeef' WHERE first_line > 0 AND logid = "
      "(SELECT l.id FROM logs l JOIN steps s ON s.id = l.stepid JOIN builds b ON b.id = s.buildid "
      "JOIN builders r ON r.id = b.builderid WHERE r.name = 'mac/clang' AND b.number = 2 "
      "AND s.name = 'compile' AND l.slug = 'stdio') AND first_line = (SELECT min(first_line) "
      "FROM logchunks c WHERE c.logid = logchunks.logid AND c.first_line > 0)");
  const ProcessResult result = run(db, {"import-buildbot", damaged});
  check_one_error(result, 1, "mac%2Fclang/2/1/stdio chunk of lines 26-");
  CHECK(result.err.find("bz2") != std::string::npos);
  CHECK(count(db, "SELECT count(*) FROM build") == 12);
  const Document build = parse(ok(db, {"--json", "show", "mac%2Fclang/2"}).out);
  const Value& log = build["steps"][1]["logs"][0];
  CHECK_FALSE(log["complete"].GetBool());
  CHECK(log["num_lines"].GetInt() == 26);  // the first chunk, before the damage
  ok(db, {"check"});
}

TEST_CASE("import reports a malformed or truncated line by number; --skip-bad goes on") {
  TempDir dir;
  const std::string source = dir.file("source.db");
  ok(source, {"import-buildbot", fixture()});
  const auto lines = lines_of(ok(source, {"export", "mac/clang"}).out);
  REQUIRE(lines.size() == 4);
  const std::string file = dir.file("bad.jsonl");
  {
    std::ofstream out(file, std::ios::binary);
    out << lines[0] << "\n" << "{\"format\": 1, \"builder\": \n" << lines[2] << "\n"
        << lines[3].substr(0, lines[3].size() / 2);  // cut short, no end of line
  }
  const std::string stop = dir.file("stop.db");
  check_one_error(run(stop, {"import", file}), 1, "line 2: not JSON");
  CHECK(count(stop, "SELECT count(*) FROM build") == 1);

  const std::string go_on = dir.file("go_on.db");
  const ProcessResult skipped = run(go_on, {"import", "--skip-bad", file});
  CHECK(skipped.status == 1);
  const auto err = lines_of(skipped.err);
  REQUIRE(err.size() == 2);
  CHECK(err[0].find("line 2: ") != std::string::npos);
  CHECK(err[1].find("line 4: truncated") != std::string::npos);
  CHECK(count(go_on, "SELECT count(*) FROM build") == 2);
  ok(go_on, {"check"});
}

// Found by fuzz_jsonl: import parsed a line, and export wrote a property, by
// recursion, so a property nested deep (which the store takes at any depth)
// overflowed the stack.
TEST_CASE("a property nested a million deep is imported and exported") {
  TempDir dir;
  const std::string source = dir.file("source.db");
  ok(source, {"import-buildbot", fixture()});
  std::string line = lines_of(ok(source, {"export", "mac/clang"}).out)[0];
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  const std::string properties = "\"properties\":[";
  REQUIRE(line.find(properties) != std::string::npos);
  line.insert(line.find(properties) + properties.size(),
              "{\"name\":\"a_deep\",\"value\":" + deep + ",\"source\":\"test\"},");
  const std::string file = dir.file("deep.jsonl");
  std::ofstream(file, std::ios::binary) << line << "\n";
  const std::string db = dir.file("store.db");
  ok(db, {"import", file});
  const std::string exported = ok(db, {"export", "mac/clang"}).out;
  CHECK(exported.find("\"value\":" + deep + ",") != std::string::npos);
  ok(db, {"check"});
}

// Found by fuzz_jsonl: a string that is not UTF-8 (here a lone surrogate escape)
// was taken as it was, and export wrote it back repaired: not what was imported.
TEST_CASE("import refuses a line whose text is not UTF-8, naming the field") {
  TempDir dir;
  const std::string source = dir.file("source.db");
  ok(source, {"import-buildbot", fixture()});
  std::string line = lines_of(ok(source, {"export", "mac/clang"}).out)[0];
  const std::string worker = "\"worker\":\"";
  REQUIRE(line.find(worker) != std::string::npos);
  line.insert(line.find(worker) + worker.size(), "\\udc00");
  const std::string file = dir.file("surrogate.jsonl");
  std::ofstream(file, std::ios::binary) << line << "\n";
  const std::string db = dir.file("store.db");
  check_one_error(run(db, {"import", file}), 1, "line 1: \"worker\" is not UTF-8");
  CHECK(count(db, "SELECT count(*) FROM build") <= 0);
}

TEST_CASE("import refuses a build whose number the store has with different content") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  ok(db, {"import-buildbot", fixture()});
  std::string line = lines_of(ok(db, {"export", "mac/clang"}).out)[0];
  const std::string from = "\"state_string\":\"build 4\"";
  REQUIRE(line.find(from) != std::string::npos);
  line.replace(line.find(from), from.size(), "\"state_string\":\"rewritten\"");
  const std::string file = dir.file("other.jsonl");
  std::ofstream(file, std::ios::binary) << line << "\n";
  check_one_error(run(db, {"import", file}), 1, "mac%2Fclang/1 is in the store with different content");
  CHECK(std::string(parse(ok(db, {"--json", "show", "mac%2Fclang/1"}).out)["state_string"].GetString()) ==
        "build 4");
}

TEST_CASE("import beside a master numbering the same builder: the master numbers after it") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  const std::string other = dir.file("other.db");
  const auto write_builds = [](buildhist::Store& store, int count) {
    std::vector<std::shared_ptr<buildhist::Build>> builds;
    for (int i = 0; i < count; ++i) {
      buildhist::BuildStart start;
      start.worker = "w";
      start.started_at = 1767225600 + i;
      builds.push_back(store.start_build("linux", start));
      builds.back()->finish(buildhist::Results::kSuccess, start.started_at + 1);
    }
    store.flush();
    return builds;
  };
  // Builds 4 and 5 of linux, as another history has them.
  {
    auto store = buildhist::Store::open(other);
    write_builds(*store, 5);
  }
  std::string newer;
  for (const std::string& line : lines_of(ok(other, {"export", "linux"}).out)) {
    if (parse(line)["number"].GetInt() > 3) newer += line + "\n";
  }
  const std::string file = dir.file("newer.jsonl");
  std::ofstream(file, std::ios::binary) << newer;

  // A master holds linux's numbering (it numbers in memory) while the import runs.
  auto master = buildhist::Store::open(db);
  auto held = write_builds(*master, 3);
  CHECK(held.back()->number() == 3);
  CHECK(parse(ok(db, {"--json", "import", file}).out)["builds"].GetInt() == 2);
  // Without the handover the master would number this build 4 and its commit fail.
  auto next = write_builds(*master, 1);
  CHECK(next.back()->number() == 6);
  master.reset();
  ok(db, {"check"});
  CHECK(count(db, "SELECT count(*) FROM build") == 6);
}
