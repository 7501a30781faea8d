// The write path through the public API: what is written comes back, field by
// field, from a fresh process's view of the store; bad input changes nothing.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

std::vector<std::string> lines_of(const Log& log) {
  std::vector<std::string> lines;
  log.read(0, 0, [&](const LogLine& line) {
    CHECK(line.number == static_cast<std::int64_t>(lines.size()));
    lines.emplace_back(line.text);
    return true;
  });
  return lines;
}

ErrorCode error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("no error was thrown");
  return ErrorCode::kIO;
}

BuildStart start_at(std::int64_t when) {
  BuildStart start;
  start.worker = "worker-1";
  start.started_at = when;
  return start;
}

// A store reopened, as another process would see it after the writer closed.
std::unique_ptr<Store> reopen(const std::string& path) { return Store::open(path); }

}  // namespace

TEST_CASE("everything written comes back field by field after reopening") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  BuildRecord build_record;
  std::vector<Property> properties;
  std::vector<StepRecord> step_records;
  std::vector<LogRecord> log_records;
  {
    auto store = Store::open(path);
    BuildStart start = start_at(1700000000);
    start.properties = {{"got_revision", "\"abc123\"", "Git"}, {"count", "42", "Test"}};
    auto build = store->start_build("linux / gcc", start);
    build->set_property("flags", "{\"debug\":true,\"jobs\":[1,2]}", "Config");

    auto checkout = build->add_step("git", 1700000001);
    checkout->add_url("commit", "https://example.invalid/commit/abc123");
    auto stdio = checkout->add_log("stdio", LogType::kStdio);
    stdio->append("hcheckout\noHEAD is now at abc123\n");
    stdio->append("epartial ");
    stdio->append("line\n");
    stdio->finish();
    checkout->set_state_string("updated");
    checkout->finish(Results::kSuccess, 1700000005);

    auto compile = build->add_step("compile", 1700000005);
    compile->set_hidden(true);
    auto text = compile->add_log("summary.txt", LogType::kText);
    text->append("first\n\nthird without newline");
    text->finish();
    auto html = compile->add_log("report", LogType::kHtml);
    html->append("<p>ok</p>\n");
    compile->finish(Results::kWarnings, 1700000010);

    build->set_state_string("build warnings");
    build->finish(Results::kWarnings, 1700000010);

    build_record = build->record();
    properties = build->properties();
    for (const auto& step : build->steps()) {
      step_records.push_back(step->record());
      for (const auto& log : step->logs()) log_records.push_back(log->record());
    }
  }

  auto store = reopen(path);
  auto build = store->build("linux / gcc", 1);
  REQUIRE(build != nullptr);
  CHECK(build->record() == build_record);
  CHECK(build->record().results == Results::kWarnings);
  CHECK(build->properties() == properties);
  CHECK(build->property("flags") == "{\"debug\":true,\"jobs\":[1,2]}");
  CHECK(build->property("got_revision") == "\"abc123\"");

  std::vector<StepRecord> reloaded_steps;
  std::vector<LogRecord> reloaded_logs;
  for (const auto& step : build->steps()) {
    reloaded_steps.push_back(step->record());
    for (const auto& log : step->logs()) reloaded_logs.push_back(log->record());
  }
  CHECK(reloaded_steps == step_records);
  CHECK(reloaded_logs == log_records);
  CHECK(step_records[0].urls.size() == 1);
  CHECK(step_records[1].hidden);

  auto checkout_log = build->step("git")->log("stdio");
  REQUIRE(checkout_log != nullptr);
  CHECK(lines_of(*checkout_log) ==
        std::vector<std::string>{"hcheckout", "oHEAD is now at abc123", "epartial line"});
  auto text_log = build->step(1)->log("summary_txt");
  REQUIRE(text_log != nullptr);
  CHECK(text_log->record().name == "summary.txt");
  CHECK(lines_of(*text_log) == std::vector<std::string>{"first", "", "third without newline"});
  // An unfinished log keeps what was appended in whole lines.
  CHECK_FALSE(build->step(1)->log("report")->record().complete);
  CHECK(lines_of(*build->step(1)->log("report")) == std::vector<std::string>{"<p>ok</p>"});
}

TEST_CASE("build numbers count 1, 2, 3 per builder and continue after reopening") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  {
    auto store = Store::open(path);
    CHECK(store->start_build("a", start_at(10))->number() == 1);
    CHECK(store->start_build("a", start_at(20))->number() == 2);
    CHECK(store->start_build("b", start_at(30))->number() == 1);
  }
  auto store = reopen(path);
  CHECK(store->start_build("a", start_at(40))->number() == 3);
  CHECK(store->start_build("b", start_at(50))->number() == 2);
}

TEST_CASE("a duplicate step name is renamed as buildbot does") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  auto build = store->start_build("b", start_at(10));
  CHECK(build->add_step("compile")->record().name == "compile");
  CHECK(build->add_step("compile")->record().name == "compile_2");
  CHECK(build->add_step("compile")->record().name == "compile_3");
  CHECK(build->add_step("compile_2")->record().name == "compile_2_2");
  CHECK(build->steps().size() == 4);
  CHECK(build->step(3)->number() == 3);
}

TEST_CASE("a duplicate of a name at the length limit is shortened to take its suffix") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  auto build = store->start_build("b", start_at(10));
  const std::string longest(kMaxNameBytes, 'x');
  CHECK(build->add_step(longest)->record().name == longest);
  CHECK(build->add_step(longest)->record().name == std::string(kMaxNameBytes - 2, 'x') + "_2");
  // A cut never splits a UTF-8 sequence: "é" is two bytes, and 127 of them fill 254.
  std::string accents;
  for (int i = 0; i < 127; ++i) accents += "\xc3\xa9";
  build->add_step(accents);
  const std::string renamed = build->add_step(accents)->record().name;
  CHECK(renamed == accents.substr(0, 252) + "_2");
  CHECK(build->step(renamed) != nullptr);
}

// add_step once scanned every step for every suffix it tried: 10,000 steps of one
// name took cubic time. The renaming must stay buildbot's, suffix by suffix.
TEST_CASE("10,000 steps of one name get buildbot's names, past one already taken") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  {
    auto store = Store::open(path);
    auto build = store->start_build("b", start_at(10));
    build->add_step("compile_3");  // taken before its turn: the third compile skips it
    for (int i = 0; i < 10000; ++i) build->add_step("compile");
    const auto steps = build->steps();
    REQUIRE(steps.size() == 10001);
    CHECK(steps[1]->record().name == "compile");
    CHECK(steps[2]->record().name == "compile_2");
    CHECK(steps[3]->record().name == "compile_4");
    CHECK(steps[10000]->record().name == "compile_10001");
    std::set<std::string> names;
    for (const auto& step : steps) names.insert(step->record().name);
    CHECK(names.size() == steps.size());
    CHECK(build->step("compile_4") == steps[3]);
    CHECK(build->step("compile_3") == steps[0]);
  }
  // Read back from the store, the build knows the names its steps have.
  auto store = reopen(path);
  auto build = store->build("b", 1);
  REQUIRE(build != nullptr);
  CHECK(build->step("compile_9999")->number() == 9998);
  CHECK(build->add_step("compile")->record().name == "compile_10002");
  CHECK(build->add_step("compile_3")->record().name == "compile_3_2");
}

TEST_CASE("a trailing partial line is held until completed or the log finishes") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  auto log = store->start_build("b", start_at(10))->add_step("s")->add_log("stdio", LogType::kStdio);
  log->append("oab");
  CHECK(log->record().num_lines == 0);
  log->append("c\noxy");
  CHECK(log->record().num_lines == 1);
  log->append("z\noend");
  CHECK(log->record().num_lines == 2);
  log->finish();
  CHECK(log->record().num_lines == 3);
  CHECK(log->record().complete);
  CHECK(lines_of(*log) == std::vector<std::string>{"oabc", "oxyz", "oend"});
}

TEST_CASE("reading a log streams a line range") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  auto log = store->start_build("b", start_at(10))->add_step("s")->add_log("t", LogType::kText);
  for (int i = 0; i < 100; ++i) log->append("line " + std::to_string(i) + "\n");
  std::vector<std::int64_t> numbers;
  log->read(42, 5, [&](const LogLine& line) {
    numbers.push_back(line.number);
    CHECK(line.text == "line " + std::to_string(line.number));
    return true;
  });
  CHECK(numbers == std::vector<std::int64_t>{42, 43, 44, 45, 46});
  int seen = 0;
  log->read(90, 0, [&](const LogLine&) { return ++seen < 3; });  // the sink stops it
  CHECK(seen == 3);
}

TEST_CASE("bad input is refused with a clear error and changes nothing") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  {
    auto store = Store::open(path);
    CHECK(error_of([&] { store->start_build("", start_at(1)); }) == ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { store->start_build("tab\there", start_at(1)); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { store->start_build(std::string(256, 'x'), start_at(1)); }) ==
          ErrorCode::kInvalidArgument);
    BuildStart bad_property = start_at(1);
    bad_property.properties = {{"p", "not json", "x"}};
    CHECK(error_of([&] { store->start_build("b", bad_property); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { store->build("b", 0); }) == ErrorCode::kInvalidArgument);

    auto build = store->start_build("b", start_at(100));
    CHECK(build->number() == 1);  // the refused start did not take a number
    auto step = build->add_step("compile", 100);
    auto log = step->add_log("stdio", LogType::kStdio);
    CHECK(error_of([&] { build->add_step(""); }) == ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { step->add_log("stdio", LogType::kText); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { step->add_log("x", static_cast<LogType>('z')); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { build->set_property("p", "{unclosed", "x"); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { log->append("no stream character\n"); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(log->record().num_lines == 0);
    CHECK(error_of([&] { step->finish(static_cast<Results>(9), 105); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { build->finish(static_cast<Results>(-1), 105); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { build->finish(Results::kSuccess, 99); }) ==
          ErrorCode::kInvalidArgument);
    CHECK_FALSE(build->complete());

    log->append("oline\n");
    log->finish();
    CHECK(error_of([&] { log->append("omore\n"); }) == ErrorCode::kFailedPrecondition);
    CHECK(error_of([&] { log->finish(); }) == ErrorCode::kFailedPrecondition);
    step->finish(Results::kSuccess, 105);
    CHECK(error_of([&] { step->finish(Results::kFailure, 106); }) ==
          ErrorCode::kFailedPrecondition);
    build->finish(Results::kSuccess, 110);
    CHECK(error_of([&] { build->add_step("late"); }) == ErrorCode::kFailedPrecondition);
    CHECK(error_of([&] { build->set_state_string("changed"); }) ==
          ErrorCode::kFailedPrecondition);
    CHECK(error_of([&] { build->finish(Results::kFailure, 120); }) ==
          ErrorCode::kFailedPrecondition);
    CHECK(error_of([&] { step->set_state_string("changed"); }) ==
          ErrorCode::kFailedPrecondition);
  }
  auto store = reopen(path);
  CHECK(store->build("b", 2) == nullptr);
  auto build = store->build("b", 1);
  REQUIRE(build != nullptr);
  CHECK(build->record().results == Results::kSuccess);
  CHECK(build->record().complete_at == 110);
  CHECK(build->record().state_string == "starting");
  CHECK(build->properties().empty());
  REQUIRE(build->steps().size() == 1);
  CHECK(build->steps()[0]->record().results == Results::kSuccess);
  CHECK(build->steps()[0]->logs().size() == 1);
  CHECK(lines_of(*build->steps()[0]->logs()[0]) == std::vector<std::string>{"oline"});
}

TEST_CASE("a read-only store refuses writes") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  Store::open(path)->start_build("b", start_at(1));
  Options read_only;
  read_only.read_only = true;
  auto store = Store::open(path, read_only);
  REQUIRE(store->build("b", 1) != nullptr);
  CHECK(error_of([&] { store->start_build("b", start_at(2)); }) ==
        ErrorCode::kFailedPrecondition);
  CHECK(error_of([&] { store->build("b", 1)->set_state_string("x"); }) ==
        ErrorCode::kFailedPrecondition);
}

TEST_CASE("a write with immediate durability is committed when the call returns") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  auto writer = Store::open(path);
  auto build = writer->start_build("b", start_at(1), Durability::kImmediate);
  build->set_state_string("compiling", Durability::kImmediate);

  Options read_only;
  read_only.read_only = true;
  auto reader = Store::open(path, read_only);  // its own connections, like another process
  auto seen = reader->build("b", 1);
  REQUIRE(seen != nullptr);
  CHECK(seen->record().state_string == "compiling");
}

TEST_CASE("flush returns once everything written before it is committed") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  auto writer = Store::open(path);
  for (int i = 0; i < 50; ++i) writer->start_build("b", start_at(i))->finish(Results::kSuccess, i + 1);
  writer->flush();
  Options read_only;
  read_only.read_only = true;
  auto reader = Store::open(path, read_only);
  CHECK(reader->history("b", {50, std::nullopt}).size() == 50);
  CHECK(writer->stats().writes >= 100);
}

TEST_CASE("objects outlive a closed store: reads work, writes say the store is closed") {
  TempDir dir;
  std::shared_ptr<Build> build;
  {
    auto store = Store::open(dir.file("store.db"));
    build = store->start_build("b", start_at(5));
    build->set_state_string("running");
  }
  CHECK(build->record().state_string == "running");
  CHECK(error_of([&] { build->set_state_string("x"); }) == ErrorCode::kClosed);
}

// Regression: a SELECT the writer's connection left mid-result held a read snapshot
// from the store's opening on, so no checkpoint could copy anything into the
// database file and the WAL grew by every byte ever written.
TEST_CASE("a writing store checkpoints: its WAL stays small while the database grows") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  auto store = Store::open(path);
  const std::string lines = [] {
    std::string text;
    for (int i = 0; i < 1000; ++i) text += "o[" + std::to_string(i) + "/1000] Building CXX object\n";
    return text;
  }();
  for (int i = 0; i < 400; ++i) {  // about 13 MB of log text, in 400 commits
    auto build = store->start_build("b", start_at(i));
    auto log = build->add_step("compile", i)->add_log("stdio", LogType::kStdio);
    log->append(lines);
    log->finish();
    build->finish(Results::kSuccess, i + 1, Durability::kImmediate);
  }
  const auto database = std::filesystem::file_size(path);
  const auto wal = std::filesystem::file_size(path + "-wal");
  CAPTURE(database);
  CAPTURE(wal);
  // SQLite checkpoints once the WAL holds 1000 pages (4 MiB here).
  CHECK(database > 10'000'000);
  CHECK(wal < database / 2);
}

TEST_CASE("a master that numbers its own builds keeps its numbers, always increasing") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  {
    auto store = Store::open(path);
    BuildStart start = start_at(1700000000);
    start.number = 7;
    CHECK(store->start_build("numbered", start)->number() == 7);
    CHECK(store->start_build("numbered", start_at(1700000001))->number() == 8);
    start.number = 8;
    CHECK(error_of([&] { store->start_build("numbered", start); }) ==
          ErrorCode::kInvalidArgument);
    start.number = 20;
    CHECK(store->start_build("numbered", start)->number() == 20);
  }
  auto store = reopen(path);
  CHECK(store->build("numbered", 7) != nullptr);
  CHECK(store->build("numbered", 9) == nullptr);
  CHECK(store->build("numbered", 20) != nullptr);
  CHECK(store->start_build("numbered", start_at(1700000002))->number() == 21);
}
