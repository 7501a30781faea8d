// The query side through the public API: strict references and times, constant
// statement counts whatever the page size, streams a sink can stop, and a follow
// that sees another connection's appends as they are committed.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

bool refused(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.code() == ErrorCode::kInvalidArgument;
  }
  return false;
}

// `count` builds of `builder`, each with two steps and a three-line stdio log.
void write_builds(Store& store, const std::string& builder, int count) {
  for (int i = 1; i <= count; ++i) {
    BuildStart start;
    start.worker = "worker-" + std::to_string(i % 3);
    start.started_at = 1700000000 + i * 60;
    start.properties = {{"got_revision", "\"rev" + std::to_string(i) + "\"", "Git"},
                        {"attempt", std::to_string(i % 2), "Test"}};
    auto build = store.start_build(builder, start);
    for (const char* name : {"compile", "test"}) {
      auto step = build->add_step(name, start.started_at);
      auto log = step->add_log("stdio", LogType::kStdio);
      log->append("hstart\nooutput\neerror\n");
      log->finish();
      step->finish(Results::kSuccess, start.started_at + 5);
    }
    build->finish(i % 5 == 0 ? Results::kFailure : Results::kSuccess, start.started_at + 10);
  }
  store.flush();
}

std::vector<int> numbers_of(History& history, const std::string& builder,
                            const BuildFilter& filter) {
  std::vector<int> numbers;
  history.builds(builder, filter, [&](const BuildRecord& build) {
    numbers.push_back(build.number);
    return true;
  });
  return numbers;
}

}  // namespace

TEST_CASE("malformed references are refused, never read as something else") {
  const char* malformed[] = {
      "",         "b",        "b/",        "/1",          "b//1",     "b/0",
      "b/-1",     "b/1x",     "b/+1",      "b/01",        "b/ 1",     "b/1/",
      "b/1//log", "b/1/2/",   "b/1/2/l/x", "b/99999999999",           "b/1/01",
      "a%zz/1",   "a%/1",     "a%2/1",     "a\x01" "b/1", "b/1/st\tep",
      "\xff/1",
  };
  for (const char* text : malformed) {
    CAPTURE(text);
    CHECK(refused([&] { parse_reference(text); }));
  }
  CHECK(refused([&] { parse_reference(std::string(256, 'b') + "/1"); }));
  CHECK_NOTHROW(parse_reference(std::string(255, 'b') + "/1"));
}

TEST_CASE("references parse into their parts and format back to the same text") {
  struct Good {
    const char* text;
    Reference parsed;
  };
  const Good good[] = {
      {"b/1", {"b", 1, {}, {}}},
      {"linux%2Fgcc 12%25/42", {"linux/gcc 12%", 42, {}, {}}},
      {"ビルド/7/0", {"ビルド", 7, StepSelector{0, {}}, {}}},
      {"b/3/compile/stdio", {"b", 3, StepSelector{{}, "compile"}, "stdio"}},
      {"b/3/12/stdio", {"b", 3, StepSelector{12, {}}, "stdio"}},
      {"b/3/run%2Ftests/log%25", {"b", 3, StepSelector{{}, "run/tests"}, "log%"}},
  };
  for (const Good& g : good) {
    CAPTURE(g.text);
    const Reference parsed = parse_reference(g.text);
    CHECK(parsed == g.parsed);
    CHECK(format_reference(parsed) == g.text);
  }
  CHECK(parse_reference("b%2f/1").builder == "b/");  // either case of the hex digit
}

TEST_CASE("times are ISO 8601 in UTC or epoch seconds") {
  CHECK(parse_time("1700000000") == 1700000000);
  CHECK(parse_time("2023-11-14") == 1699920000);
  CHECK(parse_time("2023-11-14T22:13:20Z") == 1700000000);
  CHECK(parse_time("2023-11-14T22:13:20") == 1700000000);
  CHECK(parse_time("2023-11-14T22:13Z") == 1699999980);
  CHECK(parse_time("2023-11-15T00:13:20+02:00") == 1700000000);
  CHECK(parse_time("2024-02-29") == 1709164800);
  CHECK(format_time(1700000000) == "2023-11-14T22:13:20Z");
  for (const char* text : {"", "yesterday", "2023-13-01", "2023-02-29", "2023-11-14T24:00Z",
                           "2023-11-14T10", "2023-11-14T10:00:00Zjunk", "2023-1-14", "-5",
                           "1e9", "2023-11-14T10:00+2", "99999999999999999999999"}) {
    CAPTURE(text);
    CHECK(refused([&] { parse_time(text); }));
  }
}

TEST_CASE("durations are a whole number and a unit: s, m, h, d, w") {
  CHECK(parse_duration("90s") == 90);
  CHECK(parse_duration("30m") == 1800);
  CHECK(parse_duration("12h") == 43200);
  CHECK(parse_duration("30d") == 2592000);
  CHECK(parse_duration("2w") == 1209600);
  CHECK(parse_duration("0s") == 0);
  CHECK(parse_duration("15250284452471w") == 15250284452471 * 604800);  // the largest in range
  for (const char* text : {"", "d", "30", "30x", "30D", "-1d", "+1d", "1.5h", " 1d", "1d ",
                           "1 d", "99999999999999999999w", "15250284452472w"}) {
    CAPTURE(text);
    CHECK(refused([&] { parse_duration(text); }));
  }
}

TEST_CASE("a page of builds costs the same statements whatever its size") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_builds(*store, "b", 60);
  History history(*store);
  const auto statements_for = [&](const BuildFilter& filter) {
    const auto before = store->stats().sql_statements;
    const auto numbers = numbers_of(history, "b", filter);
    return std::make_pair(numbers.size(), store->stats().sql_statements - before);
  };
  const auto [five, five_cost] = statements_for({5, {}, {}, {}, {}});
  const auto [fifty, fifty_cost] = statements_for({50, {}, {}, {}, {}});
  const auto [all, all_cost] = statements_for({0, {}, {}, {}, {}});
  CHECK(five == 5);
  CHECK(fifty == 50);
  CHECK(all == 60);
  CHECK(five_cost == fifty_cost);
  CHECK(all_cost == five_cost);
  CHECK(five_cost <= 2);  // the builder's id, then the page

  const auto show_cost = [&](int number) {
    const auto before = store->stats().sql_statements;
    const BuildDetail detail = history.show("b", number);
    CHECK(detail.steps.size() == 2);
    return store->stats().sql_statements - before;
  };
  CHECK(show_cost(3) <= 4);  // builder, build row, properties, steps with logs

  std::size_t found = 0;
  const auto before = store->stats().sql_statements;
  history.find_by_property("attempt", "1", std::nullopt, [&](const BuildRecord&) {
    ++found;
    return true;
  });
  CHECK(found == 30);
  CHECK(store->stats().sql_statements - before == 1);
}

TEST_CASE("build filters select by results, start time and number, newest first") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_builds(*store, "b", 20);
  History history(*store);
  CHECK(numbers_of(history, "b", {0, {}, Results::kFailure, {}, {}}) ==
        std::vector<int>{20, 15, 10, 5});
  CHECK(numbers_of(history, "b", {0, 12, Results::kFailure, {}, {}}) ==
        std::vector<int>{10, 5});
  CHECK(numbers_of(history, "b", {0, {}, {}, 1700000000 + 18 * 60, {}}) ==
        std::vector<int>{20, 19, 18});
  CHECK(numbers_of(history, "b", {2, {}, {}, {}, 1700000000 + 18 * 60}) ==
        std::vector<int>{17, 16});
  CHECK(refused([&] { numbers_of(history, "b", {-1, {}, {}, {}, {}}); }));
}

TEST_CASE("a sink that returns false ends the stream") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_builds(*store, "b", 10);
  History history(*store);
  int seen = 0;
  history.builds("b", {0, {}, {}, {}, {}}, [&](const BuildRecord&) { return ++seen < 3; });
  CHECK(seen == 3);

  const LogDetail log = history.find_log(parse_reference("b/4/test/stdio"));
  CHECK(log.reference == parse_reference("b/4/1/stdio"));
  std::vector<std::string> lines;
  history.read_log(log, 1, 0, [&](const LogLine& line) {
    lines.emplace_back(line.text);
    return false;
  });
  CHECK(lines == std::vector<std::string>{"ooutput"});
}

TEST_CASE("lookups of what does not exist say which part is missing") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_builds(*store, "b", 2);
  History history(*store);
  const auto message = [&](const char* reference) -> std::string {
    try {
      history.find_log(parse_reference(reference));
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kNotFound);
      return e.what();
    }
    return "found";
  };
  CHECK(message("nobody/1/0/stdio").find("no builder") != std::string::npos);
  CHECK(message("b/3/0/stdio").find("no build b/3") != std::string::npos);
  CHECK(message("b/2/9/stdio").find("no step b/2/9") != std::string::npos);
  CHECK(message("b/2/0/nolog").find("no log b/2/0/nolog") != std::string::npos);
  CHECK(message("b/2/compile/stdio") == "found");
}

TEST_CASE("follow sees lines another connection commits, in order, and ends with the log") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  auto writer = Store::open(path);
  auto build = writer->start_build("b", BuildStart{"w", 1700000000, "building", {}, {}});
  auto log = build->add_step("test", 1700000000)->add_log("stdio", LogType::kStdio);
  log->append("oline 0\n", Durability::kImmediate);

  Options read_only;
  read_only.read_only = true;
  auto reader = Store::open(path, read_only);
  History history(*reader);
  const LogDetail detail = history.find_log(parse_reference("b/1/0/stdio"));

  constexpr int kLines = 40;
  std::thread master([&] {
    for (int i = 1; i < kLines; ++i) {
      // Half of each line in one append, the rest in the next: only whole lines show.
      log->append("oline " + std::to_string(i));
      log->append("\n", i % 4 == 0 ? Durability::kImmediate : Durability::kBuffered);
      if (i % 8 == 0) writer->flush();
    }
    log->finish(Durability::kImmediate);
  });
  std::vector<std::string> seen;
  history.follow_log(detail, 0, [&](const LogLine& line) {
    CHECK(line.number == static_cast<std::int64_t>(seen.size()));
    seen.emplace_back(line.text);
    return true;
  }, std::chrono::milliseconds(1));
  master.join();
  REQUIRE(seen.size() == kLines);
  for (int i = 0; i < kLines; ++i) CHECK(seen[static_cast<std::size_t>(i)] == "oline " + std::to_string(i));
}

TEST_CASE("stats count the rows written and the log text") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_builds(*store, "a", 3);
  write_builds(*store, "b", 2);
  const StoreStats stats = History(*store).stats();
  CHECK(stats.schema_version >= 1);
  const std::vector<std::pair<std::string, std::int64_t>> rows = {
      {"builder", 2}, {"build", 5}, {"build_property", 10}, {"step", 10}, {"log", 10},
      {"log_chunk", 10}, {"zstd_dictionary", 0}};
  CHECK(stats.rows == rows);
  CHECK(stats.purged_logs == 0);
  CHECK(stats.dictionary_bytes == 0);
  CHECK(stats.log_raw_bytes == 10 * 22);
  CHECK(stats.log_stored_bytes > 0);
  CHECK(stats.db_bytes > 0);
  std::size_t problems = History(*store).check([](const Problem& problem) {
    FAIL_CHECK(problem.where << ": " << problem.what);
  });
  CHECK(problems == 0);
}
