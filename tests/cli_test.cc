// The `buildhist` command as scripts use it (docs/cli.md): the real binary run
// as a process against stores written through the public library API (or by
// `buildhist simulate`), every JSON answer parsed and checked field by field, every
// exit status and error line as the contract gives them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
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

// 2026-11-22T00:00:00Z.
constexpr std::int64_t kT0 = 1795305600;
constexpr std::int64_t kHour = 3600;

// ---------------------------------------------------------------------------
// Running the command.

std::string joined(const std::vector<std::string>& args) {
  std::string text = "buildhist";
  for (const auto& arg : args) text += " '" + arg + "'";
  return text;
}

// `buildhist --db PATH args...`.
ProcessResult run(const std::string& db, std::vector<std::string> args,
                  const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), {"--db", db});
  return buildhist::testing::buildhist(args, env);
}

// Every error is one line on stderr, "buildhist: error: ...", and nothing on stdout.
void check_error(const ProcessResult& result, int status, const std::string& mentions = "") {
  CHECK(result.status == status);
  CHECK(result.out.empty());
  CHECK(result.err.rfind("buildhist: error: ", 0) == 0);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK((!result.err.empty() && result.err.back() == '\n'));
  if (!mentions.empty()) CHECK(result.err.find(mentions) != std::string::npos);
}

void expect_error(const std::string& db, const std::vector<std::string>& args, int status,
                  const std::string& mentions = "") {
  const ProcessResult result = run(db, args);
  INFO(joined(args), " -> ", result.status, ": ", result.err);
  check_error(result, status, mentions);
}

ProcessResult expect_ok(const std::string& db, const std::vector<std::string>& args) {
  ProcessResult result = run(db, args);
  INFO(joined(args), " -> ", result.status, ": ", result.err);
  CHECK(result.status == 0);
  CHECK(result.err.empty());
  return result;
}

// ---------------------------------------------------------------------------
// Reading JSON answers.

using rapidjson::Document;
using rapidjson::Value;

// Each line of `out` as one JSON object (JSON Lines); `out` ends with a newline.
std::vector<Document> json_lines(const std::string& out) {
  std::vector<Document> documents;
  if (out.empty()) return documents;
  REQUIRE(out.back() == '\n');
  std::size_t start = 0;
  while (start < out.size()) {
    const std::size_t end = out.find('\n', start);
    const std::string line = out.substr(start, end - start);
    Document document;
    // JSON is UTF-8: a byte that is not is a malformed answer.
    document.Parse<rapidjson::kParseValidateEncodingFlag>(line.c_str(), line.size());
    INFO("line: ", line);
    REQUIRE_FALSE(document.HasParseError());
    REQUIRE(document.IsObject());
    documents.push_back(std::move(document));
    start = end + 1;
  }
  return documents;
}

// The one JSON object `out` holds.
Document json_object(const std::string& out) {
  auto documents = json_lines(out);
  REQUIRE(documents.size() == 1);
  return std::move(documents[0]);
}

const Value& member(const Value& object, const char* name) {
  INFO("field: ", name);
  REQUIRE(object.IsObject());
  REQUIRE(object.HasMember(name));
  return object[name];
}

std::string str(const Value& object, const char* name) {
  const Value& value = member(object, name);
  INFO("field: ", name);
  REQUIRE(value.IsString());
  return std::string(value.GetString(), value.GetStringLength());
}

std::int64_t num(const Value& object, const char* name) {
  const Value& value = member(object, name);
  INFO("field: ", name);
  REQUIRE(value.IsInt64());
  return value.GetInt64();
}

bool flag(const Value& object, const char* name) {
  const Value& value = member(object, name);
  INFO("field: ", name);
  REQUIRE(value.IsBool());
  return value.GetBool();
}

bool is_null(const Value& object, const char* name) { return member(object, name).IsNull(); }

// The "number" of each build a JSON list printed, in order.
std::vector<int> numbers_of(const std::string& out) {
  std::vector<int> numbers;
  for (const auto& build : json_lines(out)) numbers.push_back(static_cast<int>(num(build, "number")));
  return numbers;
}

std::vector<int> range_down(int from, int to) {
  std::vector<int> numbers;
  for (int n = from; n >= to; --n) numbers.push_back(n);
  return numbers;
}

std::vector<std::string> text_lines(const std::string& out) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < out.size()) {
    const std::size_t end = out.find('\n', start);
    lines.push_back(out.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> result;
  std::size_t at = 0;
  while ((at = line.find_first_not_of(' ', at)) != std::string::npos) {
    const std::size_t end = line.find(' ', at);
    result.push_back(line.substr(at, end - at));
    at = end;
  }
  return result;
}

bool has_line(const std::string& out, const std::string& line) {
  const auto lines = text_lines(out);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// ---------------------------------------------------------------------------
// Stores, written as a master writes them.

BuildStart start_at(std::int64_t when, std::string worker = "worker-1") {
  BuildStart start;
  start.worker = std::move(worker);
  start.started_at = when;
  return start;
}

// Builder "linux": builds 1..45, build n started at kT0 + (n-1) hours and taking
// 600 + n seconds; failure when n % 5 == 0, warnings when n % 7 == 0, else success.
constexpr int kLinuxBuilds = 45;
std::int64_t linux_started(int n) { return kT0 + (n - 1) * kHour; }
Results linux_results(int n) {
  if (n % 5 == 0) return Results::kFailure;
  if (n % 7 == 0) return Results::kWarnings;
  return Results::kSuccess;
}

// The history most tests query:
//  - linux/1..45 as above, got_revision "rev-N" (but "shared" for 10 and 20), count N;
//  - windows/1..3, windows/2 with got_revision "shared", started between linux/16 and 17;
//  - b/1, complete, with every kind of property, a step with a URL and a stdio log,
//    a hidden step named "unit/tests 100%" with a text log and an open html log;
//  - b/2, running: a running step with an open log.
void write_history(const std::string& path) {
  auto store = Store::open(path);
  for (int n = 1; n <= kLinuxBuilds; ++n) {
    BuildStart start = start_at(linux_started(n), "worker-" + std::to_string(n % 3));
    const std::string revision = n == 10 || n == 20 ? "shared" : "rev-" + std::to_string(n);
    start.properties = {{"got_revision", "\"" + revision + "\"", "Git"},
                        {"count", std::to_string(n), "Test"}};
    auto build = store->start_build("linux", start);
    auto step = build->add_step("compile", linux_started(n));
    auto log = step->add_log("stdio", LogType::kStdio);
    log->append("hmake\no[1/1] done " + std::to_string(n) + "\n");
    log->finish();
    step->finish(linux_results(n), linux_started(n) + 600 + n);
    build->set_state_string(std::string(results_name(linux_results(n))));
    build->finish(linux_results(n), linux_started(n) + 600 + n);
  }
  for (int n = 1; n <= 3; ++n) {
    const std::int64_t started = kT0 + (n == 2 ? 15 * kHour + 1800 : n * 40 * kHour);
    BuildStart start = start_at(started, "win-1");
    start.properties = {
        {"got_revision", n == 2 ? "\"shared\"" : "\"win-" + std::to_string(n) + "\"", "Git"}};
    auto build = store->start_build("windows", start);
    build->finish(Results::kSuccess, started + 60);
  }

  const std::int64_t b_start = kT0 - 86400;
  {
    BuildStart start = start_at(b_start);
    start.properties = {{"got_revision", "\"abc123\"", "Git"},
                        {"count", "42", "Test"},
                        {"ratio", "0.5", "Test"},
                        {"enabled", "true", "Test"},
                        {"nothing", "null", "Test"},
                        {"flags", "{\"debug\":true,\"jobs\":[1,2]}", "Config"},
                        {"list", "[\"a\",\"b\"]", "Config"},
                        {"quoted", "\"say \\\"hi\\\" \\\\ ビルド ✓\"", "Config"},
                        {"we\"ird name", "\"x\"", "Config"}};
    auto build = store->start_build("b", start);
    auto git = build->add_step("git", b_start + 1);
    git->add_url("commit", "https://example.invalid/commit/abc123");
    auto stdio = git->add_log("stdio", LogType::kStdio);
    stdio->append("hcheckout\noHEAD is now at abc123\n");
    stdio->append("epartial ");
    stdio->append("line\no\n");
    for (int i = 4; i < 14; ++i) stdio->append("oline " + std::to_string(i) + "\n");
    stdio->finish();
    git->set_state_string("updated");
    git->finish(Results::kSuccess, b_start + 5);

    auto unit = build->add_step("unit/tests 100%", b_start + 5);
    unit->set_hidden(true);
    auto text = unit->add_log("summary.txt", LogType::kText);
    text->append("ok fine\n\nthird without newline");
    text->finish();
    auto html = unit->add_log("report", LogType::kHtml);
    html->append("<p>ok</p>\n");
    unit->finish(Results::kWarnings, b_start + 10);
    build->set_state_string("build warnings");
    build->finish(Results::kWarnings, b_start + 10);
  }
  {
    auto build = store->start_build("b", start_at(b_start + 100, "worker-2"));
    build->set_state_string("building");
    auto step = build->add_step("compile", b_start + 101);
    auto log = step->add_log("stdio", LogType::kStdio);
    log->append("ostill going\n");
  }
}

// One store with write_history, written once for the whole suite.
const std::string& history_store() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string p = dir.file("history.db");
    write_history(p);
    return p;
  }();
  return path;
}

// Runs SQL on a store through a raw sqlite3 connection, as damage or a lock would.
class RawSqlite {
 public:
  explicit RawSqlite(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  ~RawSqlite() { sqlite3_close(db_); }
  RawSqlite(const RawSqlite&) = delete;
  RawSqlite& operator=(const RawSqlite&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    INFO(sql, ": ", error == nullptr ? "" : error);
    sqlite3_free(error);
    REQUIRE(rc == SQLITE_OK);
  }
  int changes() { return sqlite3_changes(db_); }

 private:
  sqlite3* db_ = nullptr;
};

// ---------------------------------------------------------------------------
// Processes running beside the test: a writer forked from it, a follower reading
// as it goes.

// Waits for `pid` and returns its exit status (128 + N when killed by signal N).
int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The buildhist binary running with its standard output on a pipe the test reads
// as it goes; standard error goes to a file.
struct Running {
  pid_t pid = -1;
  int out = -1;
};

Running start_buildhist(const std::vector<std::string>& args, const std::string& err_file) {
  int out_pipe[2];
  REQUIRE(pipe(out_pipe) == 0);
  std::vector<std::string> storage{buildhist::testing::buildhist_binary()};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null_in = open("/dev/null", O_RDONLY);
    const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null_in < 0 || err < 0) _exit(127);
    dup2(null_in, STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    close(out_pipe[0]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  return Running{pid, out_pipe[0]};
}

// Reads `fd` into `buffer` until `enough(buffer)` or end of file. Returns false only
// if nothing came for a long while: a guard against hanging the suite, not a timing.
bool read_until(int fd, std::string& buffer, const std::function<bool(const std::string&)>& enough) {
  constexpr int kIdleGuardMs = 60000;
  char chunk[4096];
  while (!enough(buffer)) {
    pollfd poll_fd{fd, POLLIN, 0};
    const int ready = poll(&poll_fd, 1, kIdleGuardMs);
    if (ready == 0) return false;
    if (ready < 0) continue;
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) return true;  // end of file
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

bool read_to_end(int fd, std::string& buffer) {
  return read_until(fd, buffer, [](const std::string&) { return false; });
}

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

void write_byte(int fd, char c) { REQUIRE(write(fd, &c, 1) == 1); }

char read_byte(int fd) {
  char c = 0;
  return read(fd, &c, 1) == 1 ? c : '\0';
}

// A child process with a pipe each way, once it has said 'R' (ready).
struct Child {
  pid_t pid;
  int from_child;
  int to_child;
};

// Forks a child that runs `body(to_parent, from_parent)`, which ends the process.
Child fork_child(const std::function<void(int to_parent, int from_parent)>& body) {
  int up[2], down[2];
  REQUIRE(pipe(up) == 0);
  REQUIRE(pipe(down) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    body(up[1], down[0]);
    _exit(5);  // not reached: each body exits itself
  }
  close(up[1]);
  close(down[0]);
  REQUIRE(read_byte(up[0]) == 'R');
  return Child{pid, up[0], down[1]};
}

}  // namespace

// ===========================================================================
// builders

TEST_CASE("builders lists every builder with its build count and newest build") {
  const std::string& db = history_store();
  SUBCASE("json") {
    const auto builders = json_lines(expect_ok(db, {"--json", "builders"}).out);
    REQUIRE(builders.size() == 3);
    CHECK(str(builders[0], "name") == "b");
    CHECK(num(builders[0], "builds") == 2);
    CHECK(num(builders[0], "newest") == 2);
    CHECK(is_null(builders[0], "results"));  // b/2 is running
    CHECK(is_null(builders[0], "complete_at"));
    CHECK(str(builders[1], "name") == "linux");
    CHECK(num(builders[1], "builds") == kLinuxBuilds);
    CHECK(num(builders[1], "newest") == kLinuxBuilds);
    CHECK(str(builders[1], "results") == "failure");  // 45 % 5 == 0
    CHECK(num(builders[1], "complete_at") == linux_started(45) + 645);
    CHECK(str(builders[2], "name") == "windows");
    CHECK(num(builders[2], "builds") == 3);
    CHECK(str(builders[2], "results") == "success");
  }
  SUBCASE("text") {
    const auto lines = text_lines(expect_ok(db, {"builders"}).out);
    REQUIRE(lines.size() == 4);
    CHECK(words(lines[0]) ==
          std::vector<std::string>{"BUILDER", "BUILDS", "NEWEST", "RESULTS", "COMPLETED"});
    CHECK(words(lines[1]) == std::vector<std::string>{"b", "2", "2", "running", "-"});
    CHECK(words(lines[2]) ==
          std::vector<std::string>{"linux", "45", "45", "failure", "2026-11-23T20:10:45Z"});
    CHECK(words(lines[3])[0] == "windows");
  }
}

TEST_CASE("builders of an empty store prints nothing but the text header") {
  TempDir dir;
  const std::string db = dir.file("empty.db");
  Store::open(db);  // a store with the schema and no builds
  CHECK(expect_ok(db, {"--json", "builders"}).out.empty());
  CHECK(text_lines(expect_ok(db, {"builders"}).out).size() == 1);
}

// ===========================================================================
// builds

TEST_CASE("builds lists the newest 20 by default, --limit N, and --limit 0 for all") {
  const std::string& db = history_store();
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux"}).out) == range_down(45, 26));
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--limit", "5"}).out) ==
        range_down(45, 41));
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--limit", "0"}).out) ==
        range_down(45, 1));
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--limit", "1000"}).out) ==
        range_down(45, 1));
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "windows", "--limit", "0"}).out) ==
        range_down(3, 1));
}

TEST_CASE("builds prints every field of a build as written") {
  const std::string& db = history_store();
  const auto builds = json_lines(expect_ok(db, {"--json", "builds", "linux", "--limit", "0"}).out);
  REQUIRE(builds.size() == kLinuxBuilds);
  for (const auto& build : builds) {
    const int n = static_cast<int>(num(build, "number"));
    INFO("linux/", n);
    CHECK(str(build, "builder") == "linux");
    CHECK(str(build, "results") == results_name(linux_results(n)));
    CHECK(str(build, "state_string") == results_name(linux_results(n)));
    CHECK(str(build, "worker") == "worker-" + std::to_string(n % 3));
    CHECK(num(build, "started_at") == linux_started(n));
    CHECK(num(build, "complete_at") == linux_started(n) + 600 + n);
    CHECK_FALSE(build.HasMember("properties"));  // only in show
  }
  // A running build: results and complete_at null.
  const auto b = json_lines(expect_ok(db, {"--json", "builds", "b"}).out);
  REQUIRE(b.size() == 2);
  CHECK(num(b[0], "number") == 2);
  CHECK(is_null(b[0], "results"));
  CHECK(is_null(b[0], "complete_at"));
  CHECK(str(b[0], "state_string") == "building");
  CHECK(str(b[1], "results") == "warnings");
}

TEST_CASE("builds in text: a header, then one aligned row a build with ISO 8601 times") {
  const std::string& db = history_store();
  const auto lines = text_lines(expect_ok(db, {"builds", "linux", "--limit", "3"}).out);
  REQUIRE(lines.size() == 4);
  CHECK(words(lines[0]) == std::vector<std::string>{"NUMBER", "RESULTS", "STARTED", "COMPLETED",
                                                    "DURATION", "WORKER", "STATE"});
  CHECK(words(lines[1]) == std::vector<std::string>{"45", "failure", "2026-11-23T20:00:00Z",
                                                    "2026-11-23T20:10:45Z", "10m45s", "worker-0",
                                                    "failure"});
  CHECK(words(lines[3])[0] == "43");
  // Columns line up: every row is as long as its neighbours up to the state.
  CHECK(lines[1].find("failure") == lines[0].find("RESULTS"));
  const auto running = text_lines(expect_ok(db, {"builds", "b"}).out);
  REQUIRE(running.size() == 3);
  CHECK(words(running[1]) == std::vector<std::string>{"2", "running", "2026-11-21T00:01:40Z", "-",
                                                      "-", "worker-2", "building"});
  // Every build, with --limit 0.
  CHECK(text_lines(expect_ok(db, {"builds", "linux", "--limit", "0"}).out).size() ==
        kLinuxBuilds + 1);
  // No builds at all: no output (an empty page), exit 0.
  CHECK(expect_ok(db, {"builds", "linux", "--before", "1"}).out.empty());
}

TEST_CASE("builds --before pages by number") {
  const std::string& db = history_store();
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--before", "10", "--limit", "3"})
                       .out) == std::vector<int>{9, 8, 7});
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--before", "3"}).out) ==
        std::vector<int>{2, 1});
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--before", "1"}).out).empty());
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--before", "1000"}).out) ==
        range_down(45, 26));
}

TEST_CASE("walking pages of --limit 7 --before the last number yields exactly --limit 0") {
  const std::string& db = history_store();
  const std::vector<int> all =
      numbers_of(expect_ok(db, {"--json", "builds", "linux", "--limit", "0"}).out);
  REQUIRE(all.size() == kLinuxBuilds);
  std::vector<int> walked;
  std::vector<std::string> args{"--json", "builds", "linux", "--limit", "7"};
  int pages = 0;
  for (;;) {
    const std::vector<int> page = numbers_of(expect_ok(db, args).out);
    if (page.empty()) break;
    CHECK(page.size() <= 7);
    walked.insert(walked.end(), page.begin(), page.end());
    args = {"--json", "builds", "linux", "--limit", "7", "--before", std::to_string(page.back())};
    REQUIRE(++pages <= kLinuxBuilds);  // never loops
  }
  CHECK(pages == (kLinuxBuilds + 6) / 7);
  CHECK(walked == all);

  // The same in text, and with a filter: pages by number, whatever the filter skips.
  std::vector<int> failures;
  args = {"--json", "builds", "linux", "--limit", "2", "--result", "failure"};
  for (;;) {
    const std::vector<int> page = numbers_of(expect_ok(db, args).out);
    if (page.empty()) break;
    failures.insert(failures.end(), page.begin(), page.end());
    args = {"--json", "builds", "linux", "--limit", "2", "--result", "failure", "--before",
            std::to_string(page.back())};
  }
  CHECK(failures ==
        numbers_of(
            expect_ok(db, {"--json", "builds", "linux", "--limit", "0", "--result", "failure"}).out));
}

TEST_CASE("builds --result keeps only builds with those results") {
  const std::string& db = history_store();
  const auto failures =
      json_lines(expect_ok(db, {"--json", "builds", "linux", "--limit", "0", "--result", "failure"})
                     .out);
  std::vector<int> numbers;
  for (const auto& build : failures) {
    CHECK(str(build, "results") == "failure");
    numbers.push_back(static_cast<int>(num(build, "number")));
  }
  CHECK(numbers == std::vector<int>{45, 40, 35, 30, 25, 20, 15, 10, 5});
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--result", "warnings"}).out) ==
        std::vector<int>{42, 28, 21, 14, 7});
  CHECK(numbers_of(
            expect_ok(db, {"--json", "builds", "linux", "--result", "failure", "--limit", "3"}).out) ==
        std::vector<int>{45, 40, 35});
  CHECK(expect_ok(db, {"--json", "builds", "linux", "--result", "cancelled"}).out.empty());
}

TEST_CASE("builds --since and --until take ISO 8601 dates and times or epoch seconds") {
  const std::string& db = history_store();
  auto numbers = [&](const std::vector<std::string>& filter) {
    std::vector<std::string> args{"--json", "builds", "linux", "--limit", "0"};
    args.insert(args.end(), filter.begin(), filter.end());
    return numbers_of(expect_ok(db, args).out);
  };
  // Build n starts at 2026-11-22T00:00Z + (n-1) hours: 10:00Z is build 11, the 23rd is 25.
  const std::string since_epoch = std::to_string(kT0 + 10 * kHour);
  const std::string until_epoch = std::to_string(kT0 + 24 * kHour);
  CHECK(numbers({"--since", "2026-11-22T10:00:00Z"}) == range_down(45, 11));
  CHECK(numbers({"--since", since_epoch}) == range_down(45, 11));
  CHECK(numbers({"--since", "2026-11-22T10:00Z"}) == range_down(45, 11));
  CHECK(numbers({"--since", "2026-11-22T10:00:00"}) == range_down(45, 11));
  CHECK(numbers({"--since", "2026-11-22T12:00:00+02:00"}) == range_down(45, 11));
  CHECK(numbers({"--since", "2026-11-22T10:00:01Z"}) == range_down(45, 12));  // at or after
  CHECK(numbers({"--until", "2026-11-23"}) == range_down(24, 1));             // before
  CHECK(numbers({"--until", until_epoch}) == range_down(24, 1));
  CHECK(numbers({"--since", "2026-11-22T10:00:00Z", "--until", "2026-11-23"}) ==
        range_down(24, 11));
  CHECK(numbers({"--since", since_epoch, "--until", until_epoch}) == range_down(24, 11));
  CHECK(numbers({"--since", "2026-11-23", "--result", "failure"}) ==
        std::vector<int>{45, 40, 35, 30, 25});
  CHECK(numbers({"--since", "2027-01-01"}).empty());
  CHECK(numbers({"--until", "0"}).empty());
  // With the default limit, the newest 20 of those that pass.
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "linux", "--until", "2026-11-23"}).out) ==
        range_down(24, 5));
}

// ===========================================================================
// show

TEST_CASE("show --json prints the build, its properties as JSON values, its steps and logs") {
  const std::string& db = history_store();
  const Document build = json_object(expect_ok(db, {"--json", "show", "b/1"}).out);
  CHECK(str(build, "builder") == "b");
  CHECK(num(build, "number") == 1);
  CHECK(str(build, "results") == "warnings");
  CHECK(str(build, "state_string") == "build warnings");
  CHECK(str(build, "worker") == "worker-1");
  CHECK(num(build, "started_at") == kT0 - 86400);
  CHECK(num(build, "complete_at") == kT0 - 86400 + 10);

  const Value& properties = member(build, "properties");
  REQUIRE(properties.IsObject());
  CHECK(properties.MemberCount() == 9);
  CHECK(str(properties, "got_revision") == "abc123");
  CHECK(num(properties, "count") == 42);
  REQUIRE(member(properties, "ratio").IsDouble());
  CHECK(member(properties, "ratio").GetDouble() == 0.5);
  CHECK(flag(properties, "enabled"));
  CHECK(is_null(properties, "nothing"));
  const Value& flags = member(properties, "flags");
  CHECK(flag(flags, "debug"));
  REQUIRE(member(flags, "jobs").IsArray());
  CHECK(member(flags, "jobs").Size() == 2);
  CHECK(member(flags, "jobs")[1].GetInt() == 2);
  REQUIRE(member(properties, "list").IsArray());
  CHECK(std::string(member(properties, "list")[0].GetString()) == "a");
  CHECK(str(properties, "quoted") == "say \"hi\" \\ ビルド ✓");
  CHECK(str(properties, "we\"ird name") == "x");

  const Value& steps = member(build, "steps");
  REQUIRE(steps.IsArray());
  REQUIRE(steps.Size() == 2);
  const Value& git = steps[0];
  CHECK(num(git, "number") == 0);
  CHECK(str(git, "name") == "git");
  CHECK(str(git, "results") == "success");
  CHECK(str(git, "state_string") == "updated");
  CHECK(num(git, "started_at") == kT0 - 86400 + 1);
  CHECK(num(git, "complete_at") == kT0 - 86400 + 5);
  CHECK_FALSE(flag(git, "hidden"));
  const Value& urls = member(git, "urls");
  REQUIRE(urls.IsArray());
  REQUIRE(urls.Size() == 1);
  CHECK(str(urls[0], "name") == "commit");
  CHECK(str(urls[0], "url") == "https://example.invalid/commit/abc123");
  const Value& git_logs = member(git, "logs");
  REQUIRE(git_logs.IsArray());
  REQUIRE(git_logs.Size() == 1);
  CHECK(str(git_logs[0], "slug") == "stdio");
  CHECK(str(git_logs[0], "name") == "stdio");
  CHECK(str(git_logs[0], "type") == "s");
  CHECK(num(git_logs[0], "num_lines") == 14);
  CHECK(flag(git_logs[0], "complete"));

  const Value& unit = steps[1];
  CHECK(num(unit, "number") == 1);
  CHECK(str(unit, "name") == "unit/tests 100%");
  CHECK(str(unit, "results") == "warnings");
  CHECK(flag(unit, "hidden"));
  CHECK(member(unit, "urls").Size() == 0);
  const Value& unit_logs = member(unit, "logs");
  REQUIRE(unit_logs.Size() == 2);
  CHECK(str(unit_logs[0], "slug") == "summary_txt");
  CHECK(str(unit_logs[0], "name") == "summary.txt");
  CHECK(str(unit_logs[0], "type") == "t");
  CHECK(num(unit_logs[0], "num_lines") == 3);
  CHECK(flag(unit_logs[0], "complete"));
  CHECK(str(unit_logs[1], "slug") == "report");
  CHECK(str(unit_logs[1], "type") == "h");
  CHECK(num(unit_logs[1], "num_lines") == 1);
  CHECK_FALSE(flag(unit_logs[1], "complete"));
}

TEST_CASE("show of a running build has results null and complete_at null") {
  const std::string& db = history_store();
  const Document build = json_object(expect_ok(db, {"show", "b/2", "--json"}).out);
  CHECK(num(build, "number") == 2);
  CHECK(is_null(build, "results"));
  CHECK(is_null(build, "complete_at"));
  CHECK(str(build, "state_string") == "building");
  CHECK(member(build, "properties").ObjectEmpty());
  const Value& steps = member(build, "steps");
  REQUIRE(steps.Size() == 1);
  CHECK(is_null(steps[0], "results"));
  CHECK(is_null(steps[0], "complete_at"));
  CHECK(num(steps[0], "started_at") == kT0 - 86400 + 101);
  const Value& logs = member(steps[0], "logs");
  REQUIRE(logs.Size() == 1);
  CHECK(num(logs[0], "num_lines") == 1);
  CHECK_FALSE(flag(logs[0], "complete"));

  const std::string text = expect_ok(db, {"show", "b/2"}).out;
  CHECK(has_line(text, "  results    running"));
  CHECK(has_line(text, "  completed  -"));
  CHECK(text.find("log stdio: stdio, s, 1 lines, open") != std::string::npos);
}

TEST_CASE("show in text: the build, its properties, steps, logs and urls") {
  const std::string& db = history_store();
  const std::string text = expect_ok(db, {"show", "b/1"}).out;
  const auto lines = text_lines(text);
  REQUIRE(!lines.empty());
  CHECK(lines[0] == "b/1");
  CHECK(has_line(text, "  results    warnings"));
  CHECK(has_line(text, "  state      build warnings"));
  CHECK(has_line(text, "  worker     worker-1"));
  CHECK(has_line(text, "  started    2026-11-21T00:00:00Z"));
  CHECK(has_line(text, "  completed  2026-11-21T00:00:10Z (10s)"));
  CHECK(has_line(text, "properties"));
  CHECK(has_line(text, "steps"));
  bool revision = false, unit = false;
  for (const auto& line : lines) {
    const auto w = words(line);
    if (w.size() == 3 && w[0] == "got_revision") revision = w[1] == "\"abc123\"" && w[2] == "Git";
    if (line.find("unit/tests 100%") != std::string::npos) {
      unit = line.find("warnings") != std::string::npos &&
             line.find("(hidden)") != std::string::npos;
    }
  }
  CHECK(revision);
  CHECK(unit);
  CHECK(text.find("log stdio: stdio, s, 14 lines\n") != std::string::npos);
  CHECK(text.find("log summary_txt: summary.txt, t, 3 lines\n") != std::string::npos);
  CHECK(text.find("log report: report, h, 1 lines, open\n") != std::string::npos);
  CHECK(text.find("url commit: https://example.invalid/commit/abc123\n") != std::string::npos);
}

// ===========================================================================
// log

TEST_CASE("log --json numbers lines from 0 and splits a stdio line's stream character off") {
  const std::string& db = history_store();
  const auto lines = json_lines(expect_ok(db, {"--json", "log", "b/1/0/stdio"}).out);
  REQUIRE(lines.size() == 14);
  const std::vector<std::pair<std::string, std::string>> head{
      {"h", "checkout"}, {"o", "HEAD is now at abc123"}, {"e", "partial line"}, {"o", ""}};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO("line ", i);
    CHECK(num(lines[i], "line") == static_cast<std::int64_t>(i));
    if (i < head.size()) {
      CHECK(str(lines[i], "stream") == head[i].first);
      CHECK(str(lines[i], "text") == head[i].second);
    } else {
      CHECK(str(lines[i], "stream") == "o");
      CHECK(str(lines[i], "text") == "line " + std::to_string(i));
    }
  }
  // The same log by step name.
  CHECK(expect_ok(db, {"--json", "log", "b/1/git/stdio"}).out ==
        expect_ok(db, {"--json", "log", "b/1/0/stdio"}).out);
}

TEST_CASE("log --from and --limit read a range of lines") {
  const std::string& db = history_store();
  const auto range = json_lines(
      expect_ok(db, {"--json", "log", "b/1/0/stdio", "--from", "5", "--limit", "3"}).out);
  REQUIRE(range.size() == 3);
  for (std::size_t i = 0; i < range.size(); ++i) {
    CHECK(num(range[i], "line") == static_cast<std::int64_t>(5 + i));
    CHECK(str(range[i], "text") == "line " + std::to_string(5 + i));
  }
  CHECK(json_lines(expect_ok(db, {"--json", "log", "b/1/0/stdio", "--from", "10"}).out).size() == 4);
  CHECK(json_lines(expect_ok(db, {"--json", "log", "b/1/0/stdio", "--limit", "2"}).out).size() == 2);
  CHECK(json_lines(expect_ok(db, {"--json", "log", "b/1/0/stdio", "--limit", "0"}).out).size() ==
        14);
  CHECK(expect_ok(db, {"--json", "log", "b/1/0/stdio", "--from", "14"}).out.empty());
  CHECK(expect_ok(db, {"--json", "log", "b/1/0/stdio", "--from", "1000"}).out.empty());
  CHECK(expect_ok(db, {"log", "b/1/0/stdio", "--from", "1", "--limit", "2"}).out ==
        "HEAD is now at abc123\npartial line\n");
  // Near the largest line number: nothing to print, and no overflow of from + limit.
  const std::string largest = "9223372036854775807";
  CHECK(expect_ok(db, {"--json", "log", "b/1/0/stdio", "--from", largest, "--limit", "5"})
            .out.empty());
  CHECK(expect_ok(db, {"--json", "log", "b/1/0/stdio", "--from", "2", "--limit", largest}).out ==
        expect_ok(db, {"--json", "log", "b/1/0/stdio", "--from", "2"}).out);
}

TEST_CASE("log in text prints each line without its stream character") {
  const std::string& db = history_store();
  std::string expected = "checkout\nHEAD is now at abc123\npartial line\n\n";
  for (int i = 4; i < 14; ++i) expected += "line " + std::to_string(i) + "\n";
  CHECK(expect_ok(db, {"log", "b/1/0/stdio"}).out == expected);
  CHECK(expect_ok(db, {"log", "b/1/1/summary_txt"}).out == "ok fine\n\nthird without newline\n");
}

TEST_CASE("a text or html log has no stream field and keeps its first character") {
  const std::string& db = history_store();
  const auto text = json_lines(expect_ok(db, {"--json", "log", "b/1/1/summary_txt"}).out);
  REQUIRE(text.size() == 3);
  const std::vector<std::string> expected{"ok fine", "", "third without newline"};
  for (std::size_t i = 0; i < text.size(); ++i) {
    CHECK(num(text[i], "line") == static_cast<std::int64_t>(i));
    CHECK(str(text[i], "text") == expected[i]);
    CHECK_FALSE(text[i].HasMember("stream"));
  }
  const auto html = json_lines(expect_ok(db, {"--json", "log", "b/1/unit%2Ftests 100%25/report"}).out);
  REQUIRE(html.size() == 1);
  CHECK(str(html[0], "text") == "<p>ok</p>");
  CHECK_FALSE(html[0].HasMember("stream"));
}

TEST_CASE("JSON stays valid UTF-8 when a master wrote bytes that are not; text keeps them") {
  TempDir dir;
  const std::string db = dir.file("bytes.db");
  {
    auto store = Store::open(db);
    BuildStart start = start_at(kT0, "w\xffx");
    start.properties = {{"p\xfe", "{\"k\":\"v\xff\"}", "src\xff"}};
    auto build = store->start_build("bytes", start);
    // A step name is part of a reference, so it must be UTF-8: refused, not stored.
    CHECK_THROWS_AS(build->add_step("st\xe9p", kT0), Error);
    auto step = build->add_step("step", kT0);
    auto log = step->add_log("stdio", LogType::kStdio);
    log->append("olatin1 caf\xe9\n");
    log->append("ecut \xe3\x83\n");                    // the start of a 3-byte character
    log->append("oover\xc0\xaflong \xed\xa0\x80sur\n");  // overlong '/', a surrogate
    log->append("ofine ビルド ✓ 😀\n");
    log->finish();
  }
  const std::string bad = "\xef\xbf\xbd";  // U+FFFD, in UTF-8
  const auto lines = json_lines(expect_ok(db, {"--json", "log", "bytes/1/0/stdio"}).out);
  REQUIRE(lines.size() == 4);
  CHECK(str(lines[0], "text") == "latin1 caf" + bad);
  CHECK(str(lines[1], "text") == "cut " + bad + bad);
  CHECK(str(lines[2], "text") == "over" + bad + bad + "long " + bad + bad + bad + "sur");
  CHECK(str(lines[3], "text") == "fine ビルド ✓ 😀");
  const Document build = json_object(expect_ok(db, {"--json", "show", "bytes/1"}).out);
  CHECK(str(build, "worker") == "w" + bad + "x");
  CHECK(str(member(member(build, "properties"), ("p" + bad).c_str()), "k") == "v" + bad);
  CHECK(str(member(build, "steps")[0], "name") == "step");
  CHECK(str(json_lines(expect_ok(db, {"--json", "builds", "bytes"}).out)[0], "worker") ==
        "w" + bad + "x");
  // Text is the bytes as written, for a terminal to show as it can.
  CHECK(expect_ok(db, {"log", "bytes/1/0/stdio", "--limit", "1"}).out == "latin1 caf\xe9\n");
}

// ===========================================================================
// find

TEST_CASE("find --property matches a string-valued property by its bare value, newest first") {
  const std::string& db = history_store();
  const auto shared =
      json_lines(expect_ok(db, {"--json", "find", "--property", "got_revision=shared"}).out);
  REQUIRE(shared.size() == 3);
  CHECK(str(shared[0], "builder") == "linux");
  CHECK(num(shared[0], "number") == 20);
  CHECK(str(shared[1], "builder") == "windows");
  CHECK(num(shared[1], "number") == 2);
  CHECK(str(shared[2], "builder") == "linux");
  CHECK(num(shared[2], "number") == 10);
  CHECK(str(shared[0], "results") == "failure");
  CHECK(num(shared[0], "started_at") == linux_started(20));

  // The value as JSON text matches too; a number property by its number.
  CHECK(json_lines(expect_ok(db, {"--json", "find", "--property", "got_revision=\"shared\""}).out)
            .size() == 3);
  const auto count = json_lines(expect_ok(db, {"--json", "find", "--property", "count=42"}).out);
  REQUIRE(count.size() == 2);  // linux/42 and b/1
  CHECK(str(count[0], "builder") == "linux");
  CHECK(str(count[1], "builder") == "b");
  const auto revision =
      json_lines(expect_ok(db, {"--json", "find", "--property", "got_revision=abc123"}).out);
  REQUIRE(revision.size() == 1);
  CHECK(str(revision[0], "builder") == "b");
  CHECK(num(revision[0], "number") == 1);
  // A value with '=' in it: everything after the first '='.
  CHECK(expect_ok(db, {"--json", "find", "--property", "got_revision=a=b"}).out.empty());
  CHECK(expect_ok(db, {"--json", "find", "--property", "got_revision=nothing"}).out.empty());
  CHECK(expect_ok(db, {"--json", "find", "--property", "no_such_property=x"}).out.empty());
}

TEST_CASE("find --builder keeps only that builder's builds") {
  const std::string& db = history_store();
  CHECK(numbers_of(expect_ok(db, {"--json", "find", "--property", "got_revision=shared",
                                  "--builder", "linux"})
                       .out) == std::vector<int>{20, 10});
  const auto windows = json_lines(expect_ok(db, {"--json", "find", "--builder", "windows",
                                                 "--property", "got_revision=shared"})
                                      .out);
  REQUIRE(windows.size() == 1);
  CHECK(str(windows[0], "builder") == "windows");
  CHECK(expect_ok(db, {"--json", "find", "--property", "count=42", "--builder", "windows"})
            .out.empty());
  const auto text =
      text_lines(expect_ok(db, {"find", "--property", "got_revision=shared"}).out);
  REQUIRE(text.size() == 4);
  CHECK(words(text[0])[0] == "BUILD");
  CHECK(words(text[1])[0] == "linux/20");
  CHECK(words(text[2])[0] == "windows/2");
  CHECK(words(text[3])[0] == "linux/10");
}

// ===========================================================================
// stats

TEST_CASE("stats counts exactly the rows written and gives the schema version") {
  TempDir dir;
  const std::string db = dir.file("stats.db");
  {
    auto store = Store::open(db);
    BuildStart start = start_at(kT0);
    start.properties = {{"a", "1", "t"}, {"b", "\"two\"", "t"}};
    auto x1 = store->start_build("x", start);
    x1->set_property("a", "3", "t");  // replaces: no new row
    auto s0 = x1->add_step("one", kT0);
    auto log_a = s0->add_log("a", LogType::kStdio);
    log_a->append("oa\nob\n");  // one chunk an append
    log_a->append("oc\n");
    log_a->finish();
    auto log_b = s0->add_log("b", LogType::kText);
    log_b->append("a\nb");  // "b" is held until finish stores it
    log_b->finish();
    auto s1 = x1->add_step("two", kT0);
    s1->add_log("empty", LogType::kHtml)->finish();
    start.properties = {{"c", "null", "t"}};
    auto x2 = store->start_build("x", start);
    x2->add_step("three", kT0);
    auto y1 = store->start_build("y", start_at(kT0));
    y1->set_property("d", "[]", "t");
  }
  const Document stats = json_object(expect_ok(db, {"--json", "stats"}).out);
  CHECK(num(stats, "schema_version") == schema_version());
  const Value& rows = member(stats, "rows");
  CHECK(num(rows, "builder") == 2);
  CHECK(num(rows, "build") == 3);
  CHECK(num(rows, "build_property") == 4);
  CHECK(num(rows, "step") == 3);
  CHECK(num(rows, "log") == 3);
  CHECK(num(rows, "log_chunk") == 4);
  CHECK(num(stats, "log_raw_bytes") == 6 + 3 + 2 + 2);
  CHECK(num(stats, "log_stored_bytes") > 0);
  REQUIRE(member(stats, "log_compression_ratio").IsNumber());
  CHECK(member(stats, "log_compression_ratio").GetDouble() > 0);
  CHECK(num(stats, "db_bytes") == static_cast<std::int64_t>(std::filesystem::file_size(db)));
  CHECK(num(stats, "bytes_on_disk") == num(stats, "db_bytes") + num(stats, "wal_bytes"));

  const std::string text = expect_ok(db, {"stats"}).out;
  const auto lines = text_lines(text);
  REQUIRE(!lines.empty());
  CHECK(words(lines[0]) ==
        std::vector<std::string>{"schema", "version", std::to_string(schema_version())});
  bool build_rows = false;
  for (const auto& line : lines) {
    if (words(line) == std::vector<std::string>{"build_property", "4"}) build_rows = true;
  }
  CHECK(build_rows);
}

TEST_CASE("stats of an empty store counts nothing, with a zero compression ratio") {
  TempDir dir;
  const std::string db = dir.file("empty.db");
  Store::open(db);
  const Document stats = json_object(expect_ok(db, {"--json", "stats"}).out);
  const Value& rows = member(stats, "rows");
  for (const char* table : {"builder", "build", "build_property", "step", "log", "log_chunk"}) {
    CHECK(num(rows, table) == 0);
  }
  CHECK(member(stats, "log_compression_ratio").GetDouble() == 0);
}

// ===========================================================================
// check

TEST_CASE("check passes a good store with exit 0") {
  const std::string& db = history_store();
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");
  const Document report = json_object(expect_ok(db, {"--json", "check"}).out);
  CHECK(flag(report, "ok"));
  REQUIRE(member(report, "problems").IsArray());
  CHECK(member(report, "problems").Empty());
}

TEST_CASE("check exits 1 and lists the problem after the store is damaged") {
  TempDir dir;
  const std::string db = dir.file("damaged.db");
  write_history(db);
  {
    RawSqlite raw(db);
    raw.exec(
        "UPDATE log SET num_lines = num_lines + 1 WHERE slug = 'stdio' AND step_id = "
        "(SELECT s.id FROM step s JOIN build b ON b.id = s.build_id JOIN builder r ON "
        "r.id = b.builder_id WHERE r.name = 'b' AND b.number = 1 AND s.number = 0)");
    REQUIRE(raw.changes() == 1);
  }
  const ProcessResult text = run(db, {"check"});
  CHECK(text.status == 1);
  CHECK(text.err.empty());
  CHECK(has_line(text.out, "b/1/0/stdio: num_lines is 15 but the chunks hold 14 lines"));
  CHECK(has_line(text.out, "1 problem found"));

  const ProcessResult json = run(db, {"check", "--json"});
  CHECK(json.status == 1);
  const Document report = json_object(json.out);
  CHECK_FALSE(flag(report, "ok"));
  const Value& problems = member(report, "problems");
  REQUIRE(problems.IsArray());
  REQUIRE(problems.Size() == 1);
  CHECK(str(problems[0], "where") == "b/1/0/stdio");
  CHECK(str(problems[0], "what").find("num_lines") != std::string::npos);

  // Every log off by one: each is a problem, the report stays short.
  {
    RawSqlite raw(db);
    raw.exec("UPDATE log SET num_lines = num_lines + 1");
  }
  const ProcessResult all = run(db, {"--json", "check"});
  CHECK(all.status == 1);
  const Document all_report = json_object(all.out);
  CHECK_FALSE(flag(all_report, "ok"));
  CHECK(member(all_report, "problems").Size() >= 2);
  CHECK(member(all_report, "problems").Size() <= 25);
}

// ===========================================================================
// simulate, then every query on what it wrote

TEST_CASE("a store written by simulate answers every query as the workload says") {
  TempDir dir;
  const std::string db = dir.file("sim.db");
  const ProcessResult simulated = run(db, {"--json", "simulate", "--builders", "3", "--builds",
                                           "4", "--steps", "3", "--log-lines", "10", "--appends",
                                           "2", "--seed", "7"});
  REQUIRE(simulated.status == 0);
  const Document figures = json_object(simulated.out);
  CHECK(num(figures, "builds") == 12);
  CHECK(num(figures, "steps") == 36);
  CHECK(num(figures, "log_lines") == 360);

  const Document stats = json_object(expect_ok(db, {"--json", "stats"}).out);
  const Value& rows = member(stats, "rows");
  CHECK(num(rows, "builder") == 3);
  CHECK(num(rows, "build") == 12);
  CHECK(num(rows, "build_property") == 36);
  CHECK(num(rows, "step") == 36);
  CHECK(num(rows, "log") == 36);
  CHECK(num(rows, "log_chunk") == 72);

  const auto builders = json_lines(expect_ok(db, {"--json", "builders"}).out);
  REQUIRE(builders.size() == 3);
  for (int b = 0; b < 3; ++b) {
    CHECK(str(builders[b], "name") == "builder-0" + std::to_string(b));
    CHECK(num(builders[b], "builds") == 4);
    CHECK(num(builders[b], "newest") == 4);
  }
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "builder-01", "--limit", "0"}).out) ==
        range_down(4, 1));

  const Document build = json_object(expect_ok(db, {"--json", "show", "builder-02/4"}).out);
  const std::int64_t started = 1700000000 + ((4 - 1) * 3 + 2) * 60;
  CHECK(num(build, "started_at") == started);
  CHECK(num(build, "complete_at") == started + 3 * 5);
  CHECK(str(member(build, "properties"), "buildername") == "builder-02");
  CHECK(str(member(build, "properties"), "workername") == "worker-0");
  CHECK(str(member(build, "properties"), "got_revision").size() == 40);
  const Value& steps = member(build, "steps");
  REQUIRE(steps.Size() == 3);
  CHECK(str(steps[0], "name") == "git");
  CHECK(str(steps[1], "name") == "configure");
  CHECK(str(steps[2], "name") == "compile");

  const auto lines = json_lines(expect_ok(db, {"--json", "log", "builder-00/1/git/stdio"}).out);
  REQUIRE(lines.size() == 10);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(num(lines[i], "line") == static_cast<std::int64_t>(i));
    const std::string stream = str(lines[i], "stream");
    CHECK((stream == "o" || stream == "e" || stream == "h"));
  }
  CHECK(numbers_of(expect_ok(db, {"--json", "find", "--property", "buildername=builder-01"}).out) ==
        range_down(4, 1));
  CHECK(expect_ok(db, {"check"}).status == 0);
}

// ===========================================================================
// global options

TEST_CASE("--json is accepted before or after the command, --db too") {
  const std::string& db = history_store();
  const std::vector<std::vector<std::string>> commands{
      {"builders"}, {"builds", "linux"}, {"show", "b/1"}, {"log", "b/1/0/stdio"},
      {"find", "--property", "got_revision=shared"}, {"check"}};
  for (const auto& command : commands) {
    INFO(joined(command));
    std::vector<std::string> before{"--db", db, "--json"};
    before.insert(before.end(), command.begin(), command.end());
    std::vector<std::string> after = command;
    after.insert(after.end(), {"--json", "--db", db});
    const ProcessResult first = buildhist::testing::buildhist(before);
    const ProcessResult second = buildhist::testing::buildhist(after);
    CHECK(first.status == 0);
    CHECK(second.status == 0);
    const auto a = json_lines(first.out);
    const auto b = json_lines(second.out);
    REQUIRE(a.size() == b.size());
    CHECK(!a.empty());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
  }
  // Without --json, the same commands print text, not JSON.
  const auto text = text_lines(expect_ok(db, {"builds", "linux"}).out);
  REQUIRE(!text.empty());
  CHECK(words(text[0])[0] == "NUMBER");
}

TEST_CASE("the store is --db, else $BUILDHIST_DB, else ./buildhist.db") {
  TempDir dir;
  auto make = [](const std::string& path, const std::string& builder) {
    auto store = Store::open(path);
    store->start_build(builder, start_at(kT0))->finish(Results::kSuccess, kT0 + 1);
  };
  make(dir.file("buildhist.db"), "from-cwd");
  make(dir.file("env.db"), "from-env");
  make(dir.file("flag.db"), "from-flag");
  const std::string cwd = dir.path().string();
  auto builder_of = [&](const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env) {
    const ProcessResult result = buildhist::testing::buildhist(args, env, cwd);
    INFO(joined(args), " -> ", result.err);
    REQUIRE(result.status == 0);
    const auto builders = json_lines(result.out);
    REQUIRE(builders.size() == 1);
    return str(builders[0], "name");
  };
  const std::map<std::string, std::string> no_env{{"BUILDHIST_DB", ""}};
  const std::map<std::string, std::string> env{{"BUILDHIST_DB", dir.file("env.db")}};
  CHECK(builder_of({"--json", "builders"}, no_env) == "from-cwd");
  CHECK(builder_of({"--json", "builders"}, env) == "from-env");
  CHECK(builder_of({"--json", "builders"}, {{"BUILDHIST_DB", "env.db"}}) == "from-env");
  CHECK(builder_of({"--json", "--db", dir.file("flag.db"), "builders"}, env) == "from-flag");
  CHECK(builder_of({"--json", "--db", "flag.db", "builders"}, no_env) == "from-flag");
  CHECK(builder_of({"--json", "builders", "--db", "flag.db"}, env) == "from-flag");

  // No store where it looks: an error naming the path, and nothing created.
  TempDir empty;
  const ProcessResult missing =
      buildhist::testing::buildhist({"builders"}, no_env, empty.path().string());
  check_error(missing, 1, "buildhist.db");
  const ProcessResult missing_env = buildhist::testing::buildhist(
      {"builders"}, {{"BUILDHIST_DB", empty.file("nope.db")}}, empty.path().string());
  check_error(missing_env, 1, empty.file("nope.db"));
  CHECK(std::filesystem::is_empty(empty.path()));
}

// ===========================================================================
// exit statuses and errors

TEST_CASE("a missing store is exit 1 naming the path, and no file is created") {
  TempDir dir;
  const std::string db = dir.file("missing.db");
  const std::vector<std::vector<std::string>> commands{
      {"builders"},         {"builds", "linux"}, {"show", "b/1"},
      {"log", "b/1/0/stdio"}, {"log", "b/1/0/stdio", "--follow"},
      {"find", "--property", "a=b"}, {"stats"}, {"check"}, {"--json", "builders"}};
  for (const auto& command : commands) expect_error(db, command, 1, db);
  expect_error(dir.file("no/such/dir/x.db"), {"builders"}, 1, dir.file("no/such/dir/x.db"));
  CHECK(std::filesystem::is_empty(dir.path()));

  // A directory, an empty file and a file that is not a store: exit 1, left as they were.
  expect_error(dir.path().string(), {"builders"}, 1, dir.path().string());
  const std::string empty = dir.file("empty.db");
  std::ofstream(empty).close();
  expect_error(empty, {"builds", "linux"}, 1, empty);
  CHECK(std::filesystem::file_size(empty) == 0);
  const std::string garbage = dir.file("garbage.db");
  std::ofstream(garbage) << std::string(4096, 'x');
  expect_error(garbage, {"stats"}, 1);
  CHECK(buildhist::testing::read_file(garbage) == std::string(4096, 'x'));
}

TEST_CASE("a store made by a newer buildhist, or a database that is no store, is exit 1") {
  TempDir dir;
  const std::string newer = dir.file("newer.db");
  {
    auto store = Store::open(newer);
    store->start_build("linux", start_at(kT0));
  }
  {
    RawSqlite raw(newer);
    raw.exec("UPDATE meta SET value = " + std::to_string(schema_version() + 1) +
             " WHERE key IN ('version', 'compatible_version')");
    REQUIRE(raw.changes() == 2);
  }
  const std::string before = buildhist::testing::read_file(newer);
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"builders"}, {"builds", "linux"}, {"stats"}, {"check"}}) {
    expect_error(newer, command, 1, "newer");
  }
  CHECK(buildhist::testing::read_file(newer) == before);

  const std::string other = dir.file("other.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  expect_error(other, {"builders"}, 1, "not a buildhist store");
}

TEST_CASE("an unknown builder, build, step or log is exit 3 naming it") {
  const std::string& db = history_store();
  expect_error(db, {"builds", "nosuch"}, 3, "nosuch");
  expect_error(db, {"--json", "builds", "nosuch", "--limit", "0"}, 3, "nosuch");
  expect_error(db, {"show", "nosuch/1"}, 3, "nosuch");
  expect_error(db, {"show", "b/99"}, 3, "b/99");
  expect_error(db, {"--json", "show", "linux/46"}, 3, "linux/46");
  expect_error(db, {"log", "nosuch/1/0/stdio"}, 3, "nosuch");
  expect_error(db, {"log", "b/99/0/stdio"}, 3, "b/99");
  expect_error(db, {"log", "b/1/7/stdio"}, 3, "b/1/7");
  expect_error(db, {"log", "b/1/nosuch/stdio"}, 3, "b/1/nosuch");
  expect_error(db, {"log", "b/1/0/nosuch"}, 3, "nosuch");
  expect_error(db, {"log", "b/1/git/summary_txt"}, 3, "summary_txt");  // in another step
  expect_error(db, {"log", "b/1/0/nosuch", "--follow"}, 3, "nosuch");
  expect_error(db, {"find", "--property", "got_revision=shared", "--builder", "nosuch"}, 3,
               "nosuch");
  expect_error(db, {"find", "--property", "got_revision=shared", "--builder", ""}, 3);
}

TEST_CASE("bad usage is exit 2 with one line saying what was wrong") {
  const std::string& db = history_store();
  expect_error(db, {}, 2);
  expect_error(db, {"frobnicate"}, 2, "frobnicate");
  expect_error(db, {"--nope"}, 2, "--nope");
  expect_error(db, {"--nope", "builders"}, 2, "--nope");
  expect_error(db, {"builders", "--nope"}, 2, "--nope");
  expect_error(db, {"builds", "linux", "--nope"}, 2, "--nope");
  expect_error(db, {"builds", "linux", "extra"}, 2, "extra");
  expect_error(db, {"builds"}, 2, "BUILDER");
  expect_error(db, {"builds", "linux", "--limit", "-1"}, 2, "--limit");
  expect_error(db, {"builds", "linux", "--limit", "abc"}, 2, "--limit");
  expect_error(db, {"builds", "linux", "--limit", "1x"}, 2, "--limit");
  expect_error(db, {"builds", "linux", "--limit", ""}, 2, "--limit");
  expect_error(db, {"builds", "linux", "--limit", "99999999999"}, 2, "--limit");
  expect_error(db, {"builds", "linux", "--limit"}, 2, "--limit");
  expect_error(db, {"builds", "linux", "--before", "0"}, 2, "--before");
  expect_error(db, {"builds", "linux", "--before", "x"}, 2, "--before");
  expect_error(db, {"builds", "linux", "--result", "green"}, 2, "green");
  expect_error(db, {"builds", "linux", "--since", "yesterday"}, 2, "yesterday");
  expect_error(db, {"builds", "linux", "--since", "2026-13-01"}, 2, "2026-13-01");
  expect_error(db, {"builds", "linux", "--until", "2026-02-30"}, 2, "2026-02-30");
  expect_error(db, {"builds", "linux", "--since", "2026-11-22T25:00Z"}, 2, "2026-11-22T25:00Z");
  expect_error(db, {"builds", "linux", "--since", "2026-11-22T10:00:00Zjunk"}, 2, "junk");
  expect_error(db, {"builds", "linux", "--since", "2026-11-22x"}, 2, "2026-11-22x");
  expect_error(db, {"builds", "linux", "--until", "99999999999999999999999"}, 2,
               "99999999999999999999999");
  expect_error(db, {"builds", "linux", "--since", ""}, 2, "--since");
  expect_error(db, {"builds", "linux", "--until", ""}, 2, "--until");
  expect_error(db, {"builds", "linux", "--result", ""}, 2, "--result");
  expect_error(db, {"show"}, 2, "REFERENCE");
  expect_error(db, {"show", "b/1/0"}, 2, "b/1/0");
  expect_error(db, {"show", "b/1", "b/2"}, 2);
  expect_error(db, {"log", "b/1"}, 2, "b/1");
  expect_error(db, {"log", "b/1/0"}, 2, "b/1/0");
  expect_error(db, {"log", "b/1/0/stdio", "--from", "-1"}, 2, "--from");
  expect_error(db, {"log", "b/1/0/stdio", "--from", "x"}, 2, "--from");
  expect_error(db, {"log", "b/1/0/stdio", "--limit", "-3"}, 2, "--limit");
  expect_error(db, {"find"}, 2, "--property");
  expect_error(db, {"find", "--property", "novalue"}, 2, "novalue");
  expect_error(db, {"find", "--property", "=x"}, 2, "=x");
  expect_error(db, {"--busy-timeout", "x", "builders"}, 2, "--busy-timeout");
  expect_error(db, {"--busy-timeout", "-5", "builders"}, 2, "--busy-timeout");
}

// ===========================================================================
// references

TEST_CASE("malformed references are usage errors (2) in show and log, never a lookup") {
  TempDir dir;
  const std::string db = dir.file("refs.db");
  {
    auto store = Store::open(db);
    // Builds that a lax parser would find for b/01, b/1x, b/1/01/stdio ...
    for (int n = 1; n <= 2; ++n) {
      auto build = store->start_build("b", start_at(kT0 + n));
      build->add_step("s", kT0)->add_log("stdio", LogType::kStdio)->append("ohi\n");
    }
    store->start_build("x", start_at(kT0));
  }
  const std::vector<std::string> bad{
      "b/0", "b/-1", "b/1x", "b/", "/1", "b//1", "b/01", "b/001", "b/1/", "", "/", "//", "b",
      std::string(256, 'x') + "/1", "%zz/1", "%/1", "b%/1", "%2/1", "b%2g/1", "a\x01z/1",
      "tab\there/1", "del\x7f/1", "nel\xc2\x85/1", "\xff/1", "b/99999999999", "b/2147483648",
      "b/1/2/3/4", "b/+1", "b/ 1", "b/1 ", "b/1.0", "b/0x1", "b/1e3"};
  for (const std::string& reference : bad) {
    INFO("reference: ", reference);
    expect_error(db, {"show", reference}, 2);
    expect_error(db, {"log", reference + "/0/stdio"}, 2);  // still malformed with a step and log
  }
  expect_error(db, {"--json", "show", "b/01"}, 2);
  expect_error(db, {"log", "b/1/0/stdio/x"}, 2);
  // The malformed reference is named in the error.
  expect_error(db, {"show", "b/01"}, 2, "'b/01'");
  // Parts after the number are as strict.
  for (const std::string& reference : std::vector<std::string>{
           "b/1/01/stdio", "b/1/00/stdio", "b/1//stdio", "b/1/0/", "b/1/0/%zz", "b/1/0/a%",
        "b/1/%/stdio", "b/1/0/std\x01io", "b/1/s/" + std::string(256, 'l')}) {
    INFO("reference: ", reference);
    expect_error(db, {"log", reference}, 2);
  }
  // The longest name is 255 bytes: one byte less is a lookup (here, not found).
  expect_error(db, {"show", std::string(255, 'x') + "/1"}, 3);
}

TEST_CASE("references escape '/' and '%' and name builders with spaces and any script") {
  TempDir dir;
  const std::string db = dir.file("names.db");
  const std::vector<std::pair<std::string, std::vector<std::string>>> names{
      {"linux/gcc 12%", {"linux%2Fgcc 12%25", "linux%2fgcc 12%25"}},
      {"ビルド", {"ビルド"}},
      {"a b", {"a b"}},
      {"%2F", {"%252F"}},
      {"50% off/x/y", {"50%25 off%2Fx%2Fy"}},
      {std::string(255, 'n'), {std::string(255, 'n')}},
  };
  {
    auto store = Store::open(db);
    for (const auto& [name, references] : names) {
      store->start_build(name, start_at(kT0));  // #1, left running
      auto build = store->start_build(name, start_at(kT0 + 60));
      build->set_property("builder_name", "\"" + name + "\"", "t");
      auto step = build->add_step("unit/tests 100%", kT0 + 61);
      step->add_log("stdio", LogType::kStdio)->append("oran " + name + "\n");
      build->finish(Results::kSuccess, kT0 + 70);
    }
  }
  const auto builders = json_lines(expect_ok(db, {"--json", "builders"}).out);
  REQUIRE(builders.size() == names.size());
  for (const auto& [name, references] : names) {
    for (const std::string& reference : references) {
      INFO("builder: ", name, " reference: ", reference);
      const Document build = json_object(expect_ok(db, {"--json", "show", reference + "/2"}).out);
      CHECK(str(build, "builder") == name);
      CHECK(num(build, "number") == 2);
      CHECK(str(member(build, "properties"), "builder_name") == name);
      CHECK(str(member(build, "steps")[0], "name") == "unit/tests 100%");
      // Text shows the canonical reference: '/' as %2F, '%' as %25.
      const auto text = text_lines(expect_ok(db, {"show", reference + "/2"}).out);
      REQUIRE(!text.empty());
      CHECK(text[0] == escape_reference_part(name) + "/2");
      for (const std::string& step : {std::string("0"), std::string("unit%2Ftests 100%25")}) {
        const auto lines =
            json_lines(expect_ok(db, {"--json", "log", reference + "/2/" + step + "/stdio"}).out);
        REQUIRE(lines.size() == 1);
        CHECK(str(lines[0], "text") == "ran " + name);
      }
      CHECK(expect_ok(db, {"log", reference + "/2/0/stdio"}).out == "ran " + name + "\n");
    }
    expect_error(db, {"show", references[0] + "/3"}, 3);
    // `builds` and `find --builder` take the builder's name as it is.
    CHECK(numbers_of(expect_ok(db, {"--json", "builds", name}).out) == std::vector<int>{2, 1});
    const auto found = json_lines(
        expect_ok(db, {"--json", "find", "--property", "builder_name=" + name, "--builder", name})
            .out);
    REQUIRE(found.size() == 1);
    CHECK(str(found[0], "builder") == name);
  }
  // An unescaped '/' splits the name: b/gcc 12%... is not the builder "linux/gcc 12%".
  expect_error(db, {"show", "linux/gcc 12%25/2"}, 2);
  expect_error(db, {"show", "linux%2Fgcc 12%/2"}, 2);
}

// ===========================================================================
// log --follow

namespace {

constexpr int kFollowFirst = 10;  // lines committed before the follower starts
constexpr int kFollowTotal = 61;  // lines when the log completes

std::string follow_line(int i) {
  return std::string(1, i % 4 == 3 ? 'e' : 'o') + "line " + std::to_string(i);
}

// The writer process: a master writing tail/1 whose log grows slowly. It commits
// the first lines, says 'R' on `ready`, waits for a byte on `go`, then appends the
// rest a few lines at a time (a partial line split across appends, the last line
// stored by finish), finishes the log, the step and the build, and exits 0.
[[noreturn]] void slow_writer(const std::string& path, int ready, int go) {
  int status = 0;
  try {
    auto store = Store::open(path);
    auto build = store->start_build("tail", start_at(kT0), Durability::kImmediate);
    auto step = build->add_step("run", kT0, Durability::kImmediate);
    auto log = step->add_log("stdio", LogType::kStdio, Durability::kImmediate);
    std::string first;
    for (int i = 0; i < kFollowFirst; ++i) first += follow_line(i) + "\n";
    log->append(first, Durability::kImmediate);
    const char r = 'R';
    if (write(ready, &r, 1) != 1) _exit(4);
    char g = 0;
    if (read(go, &g, 1) != 1) _exit(5);
    for (int i = kFollowFirst; i < kFollowTotal - 1; i += 3) {
      std::string piece;
      for (int j = i; j < std::min(i + 3, kFollowTotal - 1); ++j) piece += follow_line(j) + "\n";
      const std::size_t half = piece.size() / 2;  // mid-line: held until the rest comes
      log->append(piece.substr(0, half), Durability::kImmediate);
      log->append(piece.substr(half), Durability::kImmediate);
      usleep(10 * 1000);
    }
    log->append(follow_line(kFollowTotal - 1), Durability::kImmediate);  // no newline
    log->finish(Durability::kImmediate);
    step->finish(Results::kSuccess, kT0 + 10, Durability::kImmediate);
    build->finish(Results::kSuccess, kT0 + 10, Durability::kImmediate);
  } catch (...) {
    status = 3;
  }
  _exit(status);
}

void check_follow_lines(const std::string& out, int from) {
  const auto lines = json_lines(out);
  REQUIRE(lines.size() == static_cast<std::size_t>(kFollowTotal - from));
  for (int i = from; i < kFollowTotal; ++i) {
    const Value& line = lines[static_cast<std::size_t>(i - from)];
    INFO("line ", i);
    CHECK(num(line, "line") == i);
    const std::string expected = follow_line(i);
    CHECK(str(line, "stream") == expected.substr(0, 1));
    CHECK(str(line, "text") == expected.substr(1));
  }
}

// Runs `log --follow` to its end with a guard against hanging; returns its output.
ProcessResult follow_to_end(const std::string& db, const std::vector<std::string>& extra,
                            const std::string& err_file) {
  std::vector<std::string> args{"--db", db, "--json", "log", "tail/1/run/stdio", "--follow"};
  args.insert(args.end(), extra.begin(), extra.end());
  const Running follower = start_buildhist(args, err_file);
  ProcessResult result;
  const bool ended = read_to_end(follower.out, result.out);
  if (!ended) kill(follower.pid, SIGKILL);
  CHECK_MESSAGE(ended, "log --follow never ended");
  close(follower.out);
  result.status = wait_for(follower.pid);
  result.err = buildhist::testing::read_file(err_file);
  return result;
}

}  // namespace

TEST_CASE("log --follow prints every line a concurrent master appends, then exits 0") {
  TempDir dir;
  const std::string db = dir.file("tail.db");
  Store::open(db);  // the schema exists before either process starts

  const Child writer = fork_child([&](int ready, int go) { slow_writer(db, ready, go); });

  const Running follower =
      start_buildhist({"--db", db, "--json", "log", "tail/1/run/stdio", "--follow"},
                      dir.file("follow.err"));
  std::string out;
  // The follower prints what is committed while the log is still open...
  const bool started = read_until(follower.out, out, [](const std::string& text) {
    return line_count(text) >= kFollowFirst;
  });
  CHECK(started);
  CHECK(line_count(out) == kFollowFirst);
  // ... and keeps going as the master appends the rest, until the log completes.
  write_byte(writer.to_child, 'G');
  const bool ended = started && read_to_end(follower.out, out);
  if (!ended) {
    kill(follower.pid, SIGKILL);
    kill(writer.pid, SIGKILL);
  }
  CHECK_MESSAGE(ended, "log --follow did not end after the log completed");
  close(follower.out);
  close(writer.to_child);
  close(writer.from_child);
  CHECK(wait_for(writer.pid) == 0);
  CHECK(wait_for(follower.pid) == 0);
  CHECK(buildhist::testing::read_file(dir.file("follow.err")).empty());
  check_follow_lines(out, 0);

  // On a complete log, --follow prints what there is and returns at once.
  const ProcessResult again = follow_to_end(db, {}, dir.file("again.err"));
  CHECK(again.status == 0);
  CHECK(again.err.empty());
  check_follow_lines(again.out, 0);
  const ProcessResult from = follow_to_end(db, {"--from", "50"}, dir.file("from.err"));
  CHECK(from.status == 0);
  check_follow_lines(from.out, 50);
  const ProcessResult past = follow_to_end(db, {"--from", "1000"}, dir.file("past.err"));
  CHECK(past.status == 0);
  CHECK(past.out.empty());
}

TEST_CASE("log --follow returns when the build completed though the log never did") {
  const std::string& db = history_store();
  // b/1's html log "report" was left open, but its build is complete.
  const Running follower =
      start_buildhist({"--db", db, "--json", "log", "b/1/1/report", "--follow"},
                      history_store() + ".follow.err");
  std::string out;
  const bool ended = read_to_end(follower.out, out);
  if (!ended) kill(follower.pid, SIGKILL);
  CHECK(ended);
  close(follower.out);
  CHECK(wait_for(follower.pid) == 0);
  const auto lines = json_lines(out);
  REQUIRE(lines.size() == 1);
  CHECK(str(lines[0], "text") == "<p>ok</p>");
  // And in text, a complete stdio log.
  const ProcessResult text = expect_ok(db, {"log", "b/1/0/stdio", "--follow", "--from", "12"});
  CHECK(text.out == "line 12\nline 13\n");
}

// ===========================================================================
// other processes

TEST_CASE("a store locked by another process is exit 1 saying it is locked") {
  TempDir dir;
  const std::string db = dir.file("locked.db");
  write_history(db);
  {
    RawSqlite raw(db);
    raw.exec("PRAGMA locking_mode=EXCLUSIVE");
    raw.exec("BEGIN EXCLUSIVE");
    raw.exec("UPDATE build SET state_string = 'locked' WHERE number = 1");
    for (const auto& command : std::vector<std::vector<std::string>>{
             {"builds", "linux"}, {"--json", "show", "b/1"}, {"check"}}) {
      std::vector<std::string> args{"--busy-timeout", "200"};
      args.insert(args.end(), command.begin(), command.end());
      expect_error(db, args, 1, "locked");
    }
    raw.exec("ROLLBACK");
  }
  // Once the lock is gone, the store answers again, unchanged.
  const auto builds = json_lines(expect_ok(db, {"--json", "builds", "linux", "--limit", "1"}).out);
  REQUIRE(builds.size() == 1);
  CHECK(str(builds[0], "state_string") == "failure");
}

namespace {

// The writer process: a master writing builds of "busy" until a byte arrives on
// `stop`; it says 'R' on `ready` once some are committed, and at the end writes the
// number of builds it wrote.
[[noreturn]] void busy_master(const std::string& path, int ready, int stop) {
  int status = 0;
  try {
    auto store = Store::open(path);
    bool said_ready = false;
    int written = 0;
    for (;;) {
      pollfd poll_fd{stop, POLLIN, 0};
      if (poll(&poll_fd, 1, 0) > 0) break;
      BuildStart start = start_at(kT0 + written);
      start.properties = {{"got_revision", "\"r" + std::to_string(written % 5) + "\"", "Git"}};
      auto build = store->start_build("busy", start);
      for (int s = 0; s < 3; ++s) {
        auto step = build->add_step("step", kT0 + written);
        auto log = step->add_log("stdio", LogType::kStdio);
        for (int a = 0; a < 4; ++a) {
          std::string lines;
          for (int l = 0; l < 5; ++l) lines += "oline " + std::to_string(a * 5 + l) + "\n";
          log->append(lines);
        }
        log->finish();
        step->finish(Results::kSuccess, kT0 + written + 1);
      }
      build->finish(Results::kSuccess, kT0 + written + 1);
      ++written;
      if (written % 5 == 0) store->flush();
      if (!said_ready && written >= 10) {
        store->flush();
        const char r = 'R';
        if (::write(ready, &r, 1) != 1) _exit(4);
        said_ready = true;
      }
      usleep(5000);
    }
    store->flush();
    if (::write(ready, &written, sizeof(written)) != sizeof(written)) _exit(4);
  } catch (...) {
    status = 3;
  }
  _exit(status);
}

// Runs `during` while busy_master writes into `db` from a child process (its first
// 10 builds committed before), then stops it; returns how many builds it wrote.
int with_busy_master(const std::string& db, const std::function<void()>& during) {
  const Child master = fork_child([&](int ready, int stop) { busy_master(db, ready, stop); });
  during();
  write_byte(master.to_child, 'S');
  int written = 0;
  CHECK(read(master.from_child, &written, sizeof(written)) ==
        static_cast<ssize_t>(sizeof(written)));
  close(master.to_child);
  close(master.from_child);
  CHECK(wait_for(master.pid) == 0);  // no write of the master failed
  CHECK(written >= 10);
  return written;
}

}  // namespace

TEST_CASE("queries succeed while a master writes into the same store from another process") {
  TempDir dir;
  const std::string db = dir.file("busy.db");
  Store::open(db);
  const int written = with_busy_master(db, [&] {
    std::int64_t newest_seen = 0;
    for (int round = 0; round < 5; ++round) {
      INFO("round ", round);
      const auto builds = json_lines(expect_ok(db, {"--json", "builds", "busy", "--limit", "5"}).out);
      REQUIRE(!builds.empty());
      const std::int64_t newest = num(builds[0], "number");
      CHECK(newest >= newest_seen);  // what was committed stays
      newest_seen = newest;
      for (std::size_t i = 1; i < builds.size(); ++i) {
        CHECK(num(builds[i], "number") == num(builds[i - 1], "number") - 1);
      }
      // The newest build may still be running; show answers for it either way.
      const Document latest =
          json_object(expect_ok(db, {"--json", "show", "busy/" + std::to_string(newest)}).out);
      CHECK(num(latest, "number") == newest);
      const Document first = json_object(expect_ok(db, {"--json", "show", "busy/1"}).out);
      CHECK(str(first, "results") == "success");
      REQUIRE(member(first, "steps").Size() == 3);
      CHECK(num(member(member(first, "steps")[2], "logs")[0], "num_lines") == 20);
      CHECK(json_lines(expect_ok(db, {"--json", "log", "busy/1/2/stdio"}).out).size() == 20);
      CHECK(!json_lines(expect_ok(db, {"--json", "find", "--property", "got_revision=r1",
                                       "--builder", "busy"})
                            .out)
                 .empty());
      CHECK(expect_ok(db, {"--json", "stats"}).status == 0);
    }
  });
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "busy", "--limit", "0"}).out) ==
        range_down(written, 1));
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");
}

// ---------------------------------------------------------------------------
// compact

namespace {

// Builder "c": builds 1..12 finished at kT0 + n * 3600 (one hour apart), each with
// two steps whose stdio log was appended in 6 chunks; then build 13, running.
void write_compactable(const std::string& path) {
  auto store = Store::open(path);
  for (int n = 1; n <= 13; ++n) {
    auto build = store->start_build("c", start_at(kT0 + n * 3600));
    for (int s = 0; s < 2; ++s) {
      auto step = build->add_step("step" + std::to_string(s), kT0 + n * 3600);
      auto log = step->add_log("stdio", LogType::kStdio);
      for (int a = 0; a < 6; ++a) {
        std::string lines;
        for (int l = 0; l < 40; ++l) {
          lines += "o[" + std::to_string(a * 40 + l) + "/240] Building CXX object src/net/socket_" +
                   std::to_string((n * 7 + l) % 13) + ".cpp.o\n";
        }
        log->append(lines);
      }
      if (n < 13) log->finish();
      if (n < 13) step->finish(Results::kSuccess, kT0 + n * 3600 + 1);
    }
    if (n < 13) build->finish(Results::kSuccess, kT0 + n * 3600 + 1);
  }
  store->flush();
}

std::int64_t stats_field(const std::string& db, const char* table) {
  const Document stats = json_object(expect_ok(db, {"--json", "stats"}).out);
  return num(member(stats, "rows"), table);
}

}  // namespace

TEST_CASE("compact --dry-run reports what it would delete and changes nothing") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  const std::string before = expect_ok(db, {"--json", "stats"}).out;
  const Document report =
      json_object(expect_ok(db, {"--json", "compact", "--keep-builds", "4", "--dry-run"}).out);
  CHECK(flag(report, "dry_run"));
  CHECK(num(report, "builds_deleted") == 9);  // 1..9: the newest 4 are 10..13, 13 running
  CHECK(num(report, "steps_deleted") == 18);
  CHECK(num(report, "logs_deleted") == 18);
  CHECK(num(report, "chunks_deleted") == 18 * 6);
  CHECK(expect_ok(db, {"--json", "stats"}).out == before);
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "c", "--limit", "0"}).out) ==
        range_down(13, 1));
}

TEST_CASE("compact --keep-builds keeps the newest and running builds, and logs read the same") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  const std::string log_before = expect_ok(db, {"--json", "log", "c/10/1/stdio"}).out;
  const std::string range_before =
      expect_ok(db, {"log", "c/11/0/stdio", "--from", "117", "--limit", "9"}).out;
  const std::string running_before = expect_ok(db, {"--json", "log", "c/13/0/stdio"}).out;

  const Document report =
      json_object(expect_ok(db, {"--json", "compact", "--keep-builds", "4"}).out);
  CHECK_FALSE(flag(report, "dry_run"));
  CHECK(num(report, "builds_deleted") == 9);
  CHECK(num(report, "logs_compressed") == 6);  // the finished logs of builds 10..12
  CHECK(num(report, "chunks_before") == 6 * 6);
  CHECK(num(report, "chunks_after") == 6);
  CHECK(num(report, "stored_bytes_after") < num(report, "stored_bytes_before"));
  CHECK(num(report, "bytes_on_disk_after") < num(report, "bytes_on_disk_before"));

  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "c", "--limit", "0"}).out) ==
        range_down(13, 10));
  CHECK(expect_ok(db, {"--json", "log", "c/10/1/stdio"}).out == log_before);
  CHECK(expect_ok(db, {"log", "c/11/0/stdio", "--from", "117", "--limit", "9"}).out ==
        range_before);
  CHECK(expect_ok(db, {"--json", "log", "c/13/0/stdio"}).out == running_before);
  CHECK(stats_field(db, "build") == 4);
  CHECK(stats_field(db, "log_chunk") == 6 + 2 * 6);  // the running build's chunks untouched
  expect_error(db, {"show", "c/9"}, 3, "c/9");
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");

  // A second run finds nothing more to do.
  const Document again = json_object(expect_ok(db, {"--json", "compact", "--keep-builds", "4"}).out);
  CHECK(num(again, "builds_deleted") == 0);
  CHECK(num(again, "logs_compressed") == 0);
}

TEST_CASE("compact --older-than deletes builds finished before then, never the newest") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  // Build n finished at kT0 + n * 3600 + 1; now is 2 hours after build 12 finished.
  // --older-than 5h leaves builds finished within 5 hours: 9..12 (and 13, running).
  const std::int64_t now = kT0 + 12 * 3600 + 1 + 2 * 3600;
  CompactOptions options;
  options.older_than = 5 * 3600;
  options.now = now;
  const CompactReport report = compact(db, options);
  CHECK(report.builds_deleted == 8);
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "c", "--limit", "0"}).out) ==
        range_down(13, 9));
  // However old, a builder's newest build stays, so that its numbering carries on.
  options.older_than = 0;
  options.now = now + 1000000;
  compact(db, options);
  CHECK(numbers_of(expect_ok(db, {"--json", "builds", "c", "--limit", "0"}).out) ==
        std::vector<int>{13});
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");
}

// The column of every log chunk of the store: how the text is stored.
std::vector<std::string> chunk_codecs(const std::string& db) {
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* query = nullptr;
  REQUIRE(sqlite3_prepare_v2(handle,
                             "SELECT codec || ifnull('/' || dictionary_id, '') FROM log_chunk "
                             "ORDER BY id",
                             -1, &query, nullptr) == SQLITE_OK);
  std::vector<std::string> codecs;
  while (sqlite3_step(query) == SQLITE_ROW) {
    codecs.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(query, 0)));
  }
  sqlite3_finalize(query);
  sqlite3_close(handle);
  return codecs;
}

// Runs SQL on the store with foreign keys on, as compact's connection has them;
// returns SQLite's result code.
int exec_sql(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_exec(handle, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr);
  const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(handle);
  return rc;
}

TEST_CASE("compact --logs-older-than deletes log text, keeps the logs and marks them purged") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  const std::int64_t started = std::time(nullptr);
  const Document report = json_object(
      expect_ok(db, {"--json", "compact", "--logs-older-than", "60s", "--no-compress"}).out);
  CHECK(num(report, "logs_purged") == 24);  // every finished build's two logs
  CHECK(num(report, "builds_deleted") == 0);
  CHECK(stats_field(db, "log") == 26);
  CHECK(stats_field(db, "log_chunk") == 2 * 6);  // the running build keeps its text

  // show: num_lines is the count the log had, purged_at when its text went.
  const Document shown = json_object(expect_ok(db, {"--json", "show", "c/5"}).out);
  const Value& purged = member(member(shown, "steps")[0], "logs")[0];
  CHECK(num(purged, "num_lines") == 240);
  const std::int64_t purged_at = num(purged, "purged_at");
  CHECK(purged_at >= started);
  CHECK(purged_at <= std::time(nullptr));
  const Document running = json_object(expect_ok(db, {"--json", "show", "c/13"}).out);
  CHECK(member(member(member(running, "steps")[0], "logs")[0], "purged_at").IsNull());
  CHECK(has_line(expect_ok(db, {"show", "c/5"}).out,
                 "       log stdio: stdio, s, 240 lines, text purged " + format_time(purged_at)));

  // log: no lines, exit 0, one line on stderr saying so and when, in text and JSON.
  for (const bool json : {false, true}) {
    std::vector<std::string> args = {"log", "c/5/0/stdio"};
    if (json) args.insert(args.begin(), "--json");
    const ProcessResult log = run(db, args);
    INFO(joined(args), " -> ", log.err);
    CHECK(log.status == 0);
    CHECK(log.out.empty());
    CHECK(log.err == "buildhist: the text of log c/5/0/stdio (240 lines) was purged by compact at " +
                         format_time(purged_at) + "\n");
  }
  CHECK(json_lines(expect_ok(db, {"--json", "log", "c/13/0/stdio"}).out).size() == 240);

  // stats counts them; check knows a purged log has no chunks.
  CHECK(num(json_object(expect_ok(db, {"--json", "stats"}).out), "purged_logs") == 24);
  CHECK(has_line(expect_ok(db, {"stats"}).out, "purged logs       24"));
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");

  // Purging again finds nothing more, and keeps when it was purged.
  const Document again = json_object(
      expect_ok(db, {"--json", "compact", "--logs-older-than", "60s", "--no-compress"}).out);
  CHECK(num(again, "logs_purged") == 0);
  const Document reshown = json_object(expect_ok(db, {"--json", "show", "c/5"}).out);
  CHECK(num(member(member(reshown, "steps")[0], "logs")[0], "purged_at") == purged_at);
}

// What a reader gets of the store's text, every way there is to read it.
struct TextViews {
  std::vector<std::string> logs;  // `log --json` of every log of builds 1..13
  std::string grep;               // `grep` of a pattern in every log
  std::string exported;           // `export --with-logs`

  bool operator==(const TextViews&) const = default;
};

TextViews text_views(const std::string& db) {
  TextViews views;
  for (int n = 1; n <= 13; ++n) {
    for (int s = 0; s < 2; ++s) {
      const std::string log = "c/" + std::to_string(n) + "/" + std::to_string(s) + "/stdio";
      views.logs.push_back(expect_ok(db, {"--json", "log", log}).out);
    }
  }
  views.grep = expect_ok(db, {"grep", "-C", "1", "socket_(3|11)\\.cpp", "c"}).out;
  views.exported = expect_ok(db, {"export", "--with-logs"}).out;
  return views;
}

TEST_CASE("compact trains a builder's dictionary; log, grep and export read its chunks the same") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  const TextViews before = text_views(db);
  REQUIRE(before.grep.size() > 1000);

  const Document report = json_object(expect_ok(db, {"--json", "compact"}).out);
  CHECK(num(report, "dictionaries_trained") == 1);
  CHECK(num(report, "logs_compressed") == 24);
  CHECK(stats_field(db, "zstd_dictionary") == 1);
  // Each finished log is one chunk of codec 2 naming dictionary 1; the running
  // build's chunks are as appended.
  const std::vector<std::string> codecs = chunk_codecs(db);
  CHECK(std::count(codecs.begin(), codecs.end(), "2/1") == 24);
  CHECK(std::count(codecs.begin(), codecs.end(), "0") == 12);
  CHECK(codecs.size() == 36);
  CHECK(text_views(db) == before);
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");

  // Compacted twice: nothing to train or rewrite, and the text is still the same.
  const Document again = json_object(expect_ok(db, {"--json", "compact"}).out);
  CHECK(num(again, "dictionaries_trained") == 0);
  CHECK(num(again, "logs_compressed") == 0);
  CHECK(chunk_codecs(db) == codecs);
  CHECK(text_views(db) == before);
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");
}

TEST_CASE("a store compacted without dictionaries, then with, reads the same and passes check") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  const TextViews before = text_views(db);
  const Document plain = json_object(expect_ok(db, {"--json", "compact", "--no-dictionaries"}).out);
  CHECK(num(plain, "dictionaries_trained") == 0);
  const std::vector<std::string> codecs = chunk_codecs(db);
  CHECK(std::count(codecs.begin(), codecs.end(), "1") == 24);
  const std::int64_t plain_bytes = num(plain, "stored_bytes_after");

  // Plain zstd chunks are recompressed with the dictionary, into fewer bytes.
  const Document with = json_object(expect_ok(db, {"--json", "compact"}).out);
  CHECK(num(with, "dictionaries_trained") == 1);
  CHECK(num(with, "logs_compressed") == 24);
  CHECK(num(with, "stored_bytes_after") < plain_bytes);
  const std::vector<std::string> after = chunk_codecs(db);
  CHECK(std::count(after.begin(), after.end(), "2/1") == 24);
  CHECK(text_views(db) == before);
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");
}

TEST_CASE("a dictionary a chunk uses is never deleted; compact deletes those no chunk uses") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  expect_ok(db, {"compact"});
  CHECK(exec_sql(db, "DELETE FROM zstd_dictionary") == SQLITE_CONSTRAINT);
  CHECK(stats_field(db, "zstd_dictionary") == 1);

  // Around the one in use (1), an older (0) and a newer one (5) of the builder
  // that no chunk uses: the older goes; the newest stays, for the logs to come,
  // and so does the one in use.
  REQUIRE(exec_sql(db, "INSERT INTO zstd_dictionary (id, builder_id, trained_at, "
                       "trained_through, bytes) SELECT 0, builder_id, 1, 1, x'00' "
                       "FROM zstd_dictionary UNION ALL SELECT 5, builder_id, 1, 13, bytes "
                       "FROM zstd_dictionary") == SQLITE_OK);
  const Document report = json_object(expect_ok(db, {"--json", "compact"}).out);
  CHECK(num(report, "dictionaries_deleted") == 1);
  CHECK(stats_field(db, "zstd_dictionary") == 2);
  const std::vector<std::string> codecs = chunk_codecs(db);
  CHECK(std::count(codecs.begin(), codecs.end(), "2/1") == 24);
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");
}

TEST_CASE("check finds a purged log that still has chunks, and a chunk with another's dictionary") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  expect_ok(db, {"compact"});
  REQUIRE(exec_sql(db, "UPDATE log SET purged_at = 1 WHERE id = (SELECT min(id) FROM log)") ==
          SQLITE_OK);
  REQUIRE(exec_sql(db, "INSERT INTO builder (name) VALUES ('other'); "
                       "UPDATE zstd_dictionary SET builder_id = "
                       "(SELECT id FROM builder WHERE name = 'other')") == SQLITE_OK);
  const ProcessResult check = run(db, {"check"});
  CHECK(check.status == 1);
  CHECK(has_line(check.out, "c/1/0/stdio: is purged, but its chunks hold 240 lines"));
  CHECK(check.out.find("uses zstd dictionary 1 of another builder") != std::string::npos);
}

TEST_CASE("compact refuses bad options and a missing store, creating nothing") {
  TempDir dir;
  const std::string db = dir.file("c.db");
  write_compactable(db);
  const std::string before = expect_ok(db, {"--json", "stats"}).out;
  expect_error(db, {"compact", "--keep-builds", "0"}, 2, "--keep-builds");
  expect_error(db, {"compact", "--keep-builds", "x"}, 2, "--keep-builds");
  expect_error(db, {"compact", "--older-than", "30x"}, 2, "30x");
  expect_error(db, {"compact", "--older-than", "d"}, 2, "'d'");
  expect_error(db, {"compact", "--logs-older-than", "-1d"}, 2, "-1d");
  expect_error(db, {"compact", "--no-such-option"}, 2);
  CHECK(expect_ok(db, {"--json", "stats"}).out == before);
  const std::string missing = dir.file("missing.db");
  expect_error(missing, {"compact", "--keep-builds", "1"}, 1, missing);
  CHECK_FALSE(std::filesystem::exists(missing));
}

TEST_CASE("compact runs while a master writes into the same store") {
  TempDir dir;
  const std::string db = dir.file("busy.db");
  Store::open(db);
  std::int64_t deleted = 0;
  const int written = with_busy_master(db, [&] {
    for (int round = 0; round < 3; ++round) {
      const Document report =
          json_object(expect_ok(db, {"--json", "compact", "--keep-builds", "3"}).out);
      deleted += num(report, "builds_deleted");
    }
  });
  CHECK(deleted >= 7);  // the first run alone found 10 builds, and kept 3
  const std::vector<int> kept = numbers_of(expect_ok(db, {"--json", "builds", "busy", "--limit", "0"}).out);
  REQUIRE(!kept.empty());
  CHECK(kept.front() == written);  // every build the master wrote since is there
  CHECK(expect_ok(db, {"check"}).out == "ok: no problems found\n");
}
