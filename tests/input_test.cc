// Bad names and values at the library's door: every public write given a value
// that breaks its rule (docs/input.md) throws a buildhist::Error of the right code
// whose message names the field, and leaves the store as it was. "As it was" is
// checked on the file: every row of every table, read by SQLite itself after the
// Store that was handed the value has been flushed and closed.
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

constexpr std::int64_t kT0 = 1700000000;
constexpr std::int64_t kLastSecond = 253402300799;  // 9999-12-31T23:59:59Z
constexpr std::size_t kMaxTextBytes = 4096;

// Every row of every table of the store at `path`, in rowid order, one line a row.
std::string dump(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  const auto rows = [&](const std::string& sql, const std::function<void(sqlite3_stmt*)>& row) {
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    while (sqlite3_step(statement) == SQLITE_ROW) row(statement);
    sqlite3_finalize(statement);
  };
  std::vector<std::string> tables;
  rows("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
       [&](sqlite3_stmt* s) {
         tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
       });
  std::string text;
  for (const std::string& table : tables) {
    text += "table " + table + "\n";
    rows("SELECT * FROM \"" + table + "\"", [&](sqlite3_stmt* s) {
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const auto* bytes = static_cast<const char*>(sqlite3_column_blob(s, i));
        text.append(bytes ? bytes : "NULL", bytes ? sqlite3_column_bytes(s, i) : 4);
        text += '|';
      }
      text += '\n';
    });
  }
  sqlite3_close(db);
  return text;
}

// A store holding builder "b": build 1 finished (step 0 "compile" with a finished
// log "stdio"), build 2 running (step 0 "compile" running, its log "stdio" open).
struct Objects {
  std::shared_ptr<Build> finished, running;
  std::shared_ptr<Step> finished_step, running_step;
  std::shared_ptr<Log> finished_log, running_log;
};

BuildStart start_at(std::int64_t when) {
  BuildStart start;
  start.worker = "worker-1";
  start.started_at = when;
  return start;
}

void write_fixture(const std::string& path) {
  auto store = Store::open(path);
  for (int number = 1; number <= 2; ++number) {
    auto build = store->start_build("b", start_at(kT0));
    auto step = build->add_step("compile", kT0);
    auto log = step->add_log("stdio", LogType::kStdio);
    log->append("oline\n");
    if (number == 1) {
      log->finish();
      step->finish(Results::kSuccess, kT0 + 5);
      build->finish(Results::kSuccess, kT0 + 5);
    }
  }
  store->flush();
}

Objects objects_of(Store& store) {
  Objects o;
  o.finished = store.build("b", 1);
  o.running = store.build("b", 2);
  REQUIRE((o.finished && o.running));
  o.finished_step = o.finished->step(0);
  o.running_step = o.running->step(0);
  REQUIRE((o.finished_step && o.running_step));
  o.finished_log = o.finished_step->log("stdio");
  o.running_log = o.running_step->log("stdio");
  REQUIRE((o.finished_log && o.running_log));
  return o;
}

// Opens the fixture's store, makes `attempt` and expects it refused with `code`
// and a message that mentions `mentions`; then flushes, closes, and expects the
// file's content unchanged.
void expect_refused(const std::string& path, ErrorCode code, const std::string& mentions,
                    const std::function<void(Store&, Objects&)>& attempt) {
  const std::string before = dump(path);
  {
    auto store = Store::open(path);
    Objects objects = objects_of(*store);
    try {
      attempt(*store, objects);
      FAIL("accepted a value it must refuse (" << mentions << ")");
    } catch (const Error& error) {
      INFO("message: " << error.what());
      CHECK(error.code() == code);
      CHECK(std::string(error.what()).find(mentions) != std::string::npos);
      CHECK(std::string(error.what()).find('\n') == std::string::npos);
    }
    store->flush();
  }
  CHECK(dump(path) == before);
}

struct Bad {
  std::string value;
  const char* why;  // a word of the message
};

// Names break the rule of reference.h in each of these ways.
const std::vector<Bad> kBadNames = {
    {"", "empty"},
    {std::string(256, 'x'), "longer"},
    {"tab\there", "control"},
    {std::string("nul\0here", 8), "control"},
    {"del\x7f", "control"},
    {"c1\xc2\x85", "control"},       // U+0085, a C1 control character
    {"\xff", "UTF-8"},               // a byte no sequence starts with
    {"caf\xc3", "UTF-8"},            // a truncated sequence
    {"\xc0\xaf", "UTF-8"},           // an overlong '/'
    {"\xed\xa0\x80", "UTF-8"},       // a surrogate
};

// Free text (state strings, workers, URLs, property sources) in each of these.
const std::vector<Bad> kBadText = {
    {std::string(kMaxTextBytes + 1, 'x'), "longer"},
    {"line\nbreak", "control"},
    {"\x1b[31mred", "control"},
    {"caf\xe9", "UTF-8"},
};

const std::vector<std::int64_t> kBadTimes = {-1, std::numeric_limits<std::int64_t>::min(),
                                             kLastSecond + 1,
                                             std::numeric_limits<std::int64_t>::max()};

class Fixture {
 public:
  Fixture() { write_fixture(path); }

  TempDir dir;
  const std::string path = dir.file("store.db");
};

}  // namespace

TEST_CASE("a bad builder, step, log or property name is refused and nothing is written") {
  Fixture f;
  for (const Bad& bad : kBadNames) {
    CAPTURE(bad.value);
    expect_refused(f.path, ErrorCode::kInvalidArgument, bad.why, [&](Store& store, Objects&) {
      store.start_build(bad.value, start_at(kT0));
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, "step name", [&](Store&, Objects& o) {
      o.running->add_step(bad.value, kT0);
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, "log name", [&](Store&, Objects& o) {
      o.running_step->add_log(bad.value, LogType::kText);
    });
  }
}

// Worker names, property names and sources are kept as the master's bytes (the
// query layer repairs them into UTF-8 where it writes JSON): only their length
// is refused, and an empty property name.
TEST_CASE("an empty or over-long property name, source or worker is refused") {
  Fixture f;
  for (const Bad& bad : {Bad{"", "empty"}, Bad{std::string(256, 'x'), "longer"}}) {
    CAPTURE(bad.value);
    expect_refused(f.path, ErrorCode::kInvalidArgument, "property name", [&](Store&, Objects& o) {
      o.running->set_property(bad.value, "1", "test");
    });
    // A new builder whose start is refused for its properties leaves no builder row.
    expect_refused(f.path, ErrorCode::kInvalidArgument, "property name", [&](Store& store, Objects&) {
      BuildStart start = start_at(kT0);
      start.properties = {{bad.value, "1", "test"}};
      store.start_build("new-builder", start);
    });
  }
  const std::string too_long(256, 's');
  expect_refused(f.path, ErrorCode::kInvalidArgument, "source", [&](Store&, Objects& o) {
    o.running->set_property("p", "1", too_long);
  });
  expect_refused(f.path, ErrorCode::kInvalidArgument, "worker", [&](Store& store, Objects&) {
    BuildStart start = start_at(kT0);
    start.worker = too_long;
    store.start_build("new-builder", start);
  });
}

TEST_CASE("a bad state string or URL is refused and nothing is written") {
  Fixture f;
  for (const Bad& bad : kBadText) {
    CAPTURE(bad.value);
    expect_refused(f.path, ErrorCode::kInvalidArgument, bad.why, [&](Store&, Objects& o) {
      o.running->set_state_string(bad.value);
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, bad.why, [&](Store&, Objects& o) {
      o.running_step->set_state_string(bad.value);
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, "URL", [&](Store&, Objects& o) {
      o.running_step->add_url(bad.value, "https://ci.example/1");
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, "URL", [&](Store&, Objects& o) {
      o.running_step->add_url("artifacts", bad.value);
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, "state string", [&](Store& store, Objects&) {
      BuildStart start = start_at(kT0);
      start.state_string = bad.value;
      store.start_build("new-builder", start);
    });
  }
}

TEST_CASE("a time before 1970 or after 9999 is refused and nothing is written") {
  Fixture f;
  for (const std::int64_t time : kBadTimes) {
    CAPTURE(time);
    const char* why = time < 0 ? "before 1970" : "after 9999";
    expect_refused(f.path, ErrorCode::kInvalidArgument, why, [&](Store& store, Objects&) {
      store.start_build("new-builder", start_at(time));
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, why, [&](Store&, Objects& o) {
      o.running->add_step("late", time);
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, why, [&](Store&, Objects& o) {
      o.running_step->start(time);
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, why, [&](Store&, Objects& o) {
      o.running_step->finish(Results::kSuccess, time);
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, why, [&](Store&, Objects& o) {
      o.running->finish(Results::kSuccess, time);
    });
  }
}

TEST_CASE("a results code out of range and a build number below 1 are refused") {
  Fixture f;
  for (const int code : {-1, 7, 1000}) {
    CAPTURE(code);
    expect_refused(f.path, ErrorCode::kInvalidArgument, "results", [&](Store&, Objects& o) {
      o.running_step->finish(static_cast<Results>(code), kT0 + 5);
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, "results", [&](Store&, Objects& o) {
      o.running->finish(static_cast<Results>(code), kT0 + 5);
    });
  }
  for (const int number : {0, -1, std::numeric_limits<int>::min()}) {
    CAPTURE(number);
    expect_refused(f.path, ErrorCode::kInvalidArgument, "build number", [&](Store& store, Objects&) {
      BuildStart start = start_at(kT0);
      start.number = number;
      store.start_build("new-builder", start);
    });
  }
}

TEST_CASE("a property value that is not one JSON value is refused") {
  Fixture f;
  const std::vector<std::string> values = {"", "not json", "{\"a\": 1} trailing", "NaN",
                                           "'single'", "[1,", std::string("\"nul\0\"", 6)};
  for (const std::string& value : values) {
    CAPTURE(value);
    expect_refused(f.path, ErrorCode::kInvalidArgument, "JSON", [&](Store&, Objects& o) {
      o.running->set_property("p", value, "test");
    });
    expect_refused(f.path, ErrorCode::kInvalidArgument, "JSON", [&](Store& store, Objects&) {
      BuildStart start = start_at(kT0);
      start.properties = {{"p", value, "test"}};
      store.start_build("new-builder", start);
    });
  }
}

TEST_CASE("writes after finish and a step added to a finished build are refused") {
  Fixture f;
  using Attempt = std::function<void(Store&, Objects&)>;
  const std::vector<std::pair<const char*, Attempt>> late_writes = {
      {"add a step", [](Store&, Objects& o) { o.finished->add_step("late", kT0 + 9); }},
      {"set a property", [](Store&, Objects& o) { o.finished->set_property("p", "1", "t"); }},
      {"set a build's state", [](Store&, Objects& o) { o.finished->set_state_string("x"); }},
      {"finish a build", [](Store&, Objects& o) { o.finished->finish(Results::kFailure, kT0 + 9); }},
      {"add a log", [](Store&, Objects& o) { o.finished_step->add_log("late", LogType::kText); }},
      {"start a step", [](Store&, Objects& o) { o.finished_step->start(kT0 + 9); }},
      {"set a step's state", [](Store&, Objects& o) { o.finished_step->set_state_string("x"); }},
      {"add a URL", [](Store&, Objects& o) { o.finished_step->add_url("u", "https://x/"); }},
      {"hide a step", [](Store&, Objects& o) { o.finished_step->set_hidden(true); }},
      {"finish a step", [](Store&, Objects& o) {
         o.finished_step->finish(Results::kFailure, kT0 + 9);
       }},
      {"append", [](Store&, Objects& o) { o.finished_log->append("omore\n"); }},
      {"append a partial line", [](Store&, Objects& o) { o.finished_log->append("opartial"); }},
      {"finish a log", [](Store&, Objects& o) { o.finished_log->finish(); }},
  };
  for (const auto& [what, attempt] : late_writes) {
    CAPTURE(what);
    expect_refused(f.path, ErrorCode::kFailedPrecondition, "finished", attempt);
  }
}

TEST_CASE("values at the edge of each rule are taken and read back") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  const std::string longest(255, 'n');
  const std::string odd = "b\xc3\xbcild \xe2\x98\x83 %25 a/b \"q\" \xf0\x9f\x92\xa5";
  {
    auto store = Store::open(path);
    BuildStart start = start_at(0);
    start.state_string = "";
    start.worker = "";
    auto build = store->start_build(longest, start);
    auto step = build->add_step(odd, kLastSecond);
    step->set_state_string(std::string(kMaxTextBytes, 's'));
    step->add_log(longest, LogType::kText)->finish();
    build->set_property(odd, "\"\xe2\x98\x83\"", "");
    step->finish(Results::kCancelled, kLastSecond);
    build->finish(Results::kCancelled, kLastSecond);
  }
  auto store = Store::open(path);
  auto build = store->build(longest, 1);
  REQUIRE(build != nullptr);
  CHECK(build->record().started_at == 0);
  CHECK(build->record().complete_at == kLastSecond);
  CHECK(build->property(odd) == "\"\xe2\x98\x83\"");
  REQUIRE(build->step(odd) != nullptr);
  CHECK(build->step(odd)->record().state_string.size() == kMaxTextBytes);
  CHECK(build->step(odd)->logs().at(0)->record().name == longest);
}

// Found by fuzz_json_text: the recursive parser took a frame of the caller's
// stack a level, so a 1 MB property of '[' killed the master with SIGSEGV.
TEST_CASE("a property value nested a million deep is taken without overflowing the stack") {
  Fixture f;
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  {
    auto store = Store::open(f.path);
    objects_of(*store).running->set_property("deep", deep, "test");
  }
  expect_refused(f.path, ErrorCode::kInvalidArgument, "JSON", [&](Store&, Objects& o) {
    o.running->set_property("deeper", deep + "]", "test");
  });
  auto store = Store::open(f.path);
  CHECK(store->build("b", 2)->property("deep") == deep);
}

// Found by fuzz_reference: a malformed reference was quoted as given, so a newline
// in it made the command's error two lines, and an escape sequence reached the
// terminal. Times, durations and unknown builders were quoted the same way.
TEST_CASE("input quoted in an error is one line, control characters escaped") {
  const auto message = [](const std::function<void()>& body) {
    try {
      body();
    } catch (const Error& error) {
      CHECK(error.code() == ErrorCode::kInvalidArgument);
      return std::string(error.what());
    }
    FAIL("no error was thrown");
    return std::string();
  };
  for (const std::string& text : {std::string("b\n/x"), std::string("b/1x\x1b[2J"),
                                  std::string(100'000, '\n')}) {
    for (const std::string& what : {message([&] { parse_reference(text); }),
                                    message([&] { parse_time(text); }),
                                    message([&] { parse_duration(text); })}) {
      CAPTURE(what);
      CHECK(what.find('\n') == std::string::npos);
      CHECK(what.find('\x1b') == std::string::npos);
      CHECK(what.size() < 1000);
    }
  }
  CHECK(message([] { parse_reference("b\n/x"); }).find("'b\\x0a/x'") != std::string::npos);

  Fixture f;
  const auto result = buildhist::testing::buildhist({"--db", f.path, "builds", "no\nsuch"});
  CHECK(result.status == 3);
  CHECK(result.err == "buildhist: error: no builder named 'no\\x0asuch'\n");
  const auto show = buildhist::testing::buildhist({"--db", f.path, "show", "b\n/1"});
  CHECK(show.status == 2);
  CHECK(std::count(show.err.begin(), show.err.end(), '\n') == 1);
}
