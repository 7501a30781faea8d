// trends and flaky on histories the test writes itself, with durations and results
// it chose: exact buckets, percentiles, rates and flaky steps; the commands as
// processes; the pictures parsed, and the page drawn by headless Chromium.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::run_process;
using buildhist::testing::TempDir;

namespace {

constexpr std::int64_t kDay0 = 1700006400;  // 2023-11-15T00:00:00Z
constexpr std::int64_t kDay = 86400;

struct PlannedStep {
  const char* name;
  std::int64_t seconds;
  Results results = Results::kSuccess;
};

struct Planned {
  std::int64_t started_at;
  std::int64_t seconds;  // < 0: still running
  Results results = Results::kSuccess;
  std::vector<PlannedStep> steps;
  std::string revision;
};

void write(Store& store, const std::string& builder, const std::vector<Planned>& builds) {
  for (const Planned& planned : builds) {
    BuildStart start;
    start.worker = "w";
    start.started_at = planned.started_at;
    if (!planned.revision.empty()) {
      start.properties = {{"got_revision", "\"" + planned.revision + "\"", "Git"}};
    }
    auto build = store.start_build(builder, start);
    for (const PlannedStep& planned_step : planned.steps) {
      auto step = build->add_step(planned_step.name, planned.started_at);
      step->finish(planned_step.results, planned.started_at + planned_step.seconds);
    }
    if (planned.seconds >= 0) build->finish(planned.results, planned.started_at + planned.seconds);
  }
  store.flush();
}

std::vector<TrendBucket> trends_of(Store& store, const TrendQuery& query) {
  History history(store);
  std::vector<TrendBucket> buckets;
  history.trends(query, [&](const TrendBucket& bucket) {
    buckets.push_back(bucket);
    return true;
  });
  return buckets;
}

std::vector<FlakyStep> flaky_of(Store& store, const FlakyQuery& query) {
  History history(store);
  std::vector<FlakyStep> steps;
  history.flaky(query, [&](const FlakyStep& step) {
    steps.push_back(step);
    return true;
  });
  return steps;
}

// Day 0: ten builds of 10..100 s, two failed; day 1: five finished builds of 20, 20,
// 20, 40 and 200 s (one exception) and one running. Each has a step "compile" of
// half the build's time.
void write_two_days(Store& store) {
  std::vector<Planned> builds;
  for (int i = 0; i < 10; ++i) {
    const std::int64_t seconds = 10 * (i + 1);
    builds.push_back({kDay0 + i * 600, seconds, i == 3 || i == 7 ? Results::kFailure : Results::kSuccess,
                      {{"compile", seconds / 2}}, {}});
  }
  const std::int64_t day1[] = {20, 40, 20, 200, 20};
  for (int i = 0; i < 5; ++i) {
    builds.push_back({kDay0 + kDay + i * 600, day1[i], i == 1 ? Results::kException : Results::kSuccess,
                      {{"compile", day1[i] / 2}}, {}});
  }
  builds.push_back({kDay0 + kDay + 5 * 600, -1, Results::kSuccess, {}, {}});
  write(store, "b", builds);
}

// Revisions r1 r1 r2 r2 r3 r3 r4 r4. "unit" fails on builds 1 and 5 (each revision's
// first build: flaky); "lint" fails from build 5 on (a real regression); "ok" never.
void write_flaky(Store& store) {
  std::vector<Planned> builds;
  for (int n = 1; n <= 8; ++n) {
    const Results unit = n == 1 || n == 5 ? Results::kFailure : Results::kSuccess;
    const Results lint = n >= 5 ? Results::kFailure : Results::kSuccess;
    builds.push_back({kDay0 + n * 600, 30, Results::kFailure,
                      {{"unit", 10, unit}, {"lint", 5, lint}, {"ok", 5}},
                      "r" + std::to_string((n + 1) / 2)});
  }
  write(store, "f", builds);
}

std::string check_script() {
  return std::string(std::getenv("BUILDHIST_TESTS_DIR")) + "/trends_check.py";
}

}  // namespace

TEST_CASE("day buckets hold exact counts, nearest-rank percentiles and changes") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_two_days(*store);
  TrendQuery query;
  const auto buckets = trends_of(*store, query);
  REQUIRE(buckets.size() == 4);  // the builds' two days, then compile's

  const TrendBucket& first = buckets[0];
  CHECK(first.builder == "b");
  CHECK(first.step.empty());
  CHECK(first.start == kDay0);
  CHECK(first.end == kDay0 + kDay);
  CHECK(first.first_number == 1);
  CHECK(first.last_number == 10);
  CHECK(first.runs == 10);
  CHECK(first.running == 0);
  CHECK(first.results[0] == 8);
  CHECK(first.results[2] == 2);
  CHECK(first.failure_rate == doctest::Approx(0.2));
  REQUIRE(first.duration);
  CHECK(first.duration->p50 == 50);
  CHECK(first.duration->p90 == 90);
  CHECK(first.duration->max == 100);
  CHECK_FALSE(first.p50_change);

  const TrendBucket& second = buckets[1];
  CHECK(second.start == kDay0 + kDay);
  CHECK(second.runs == 6);
  CHECK(second.running == 1);
  CHECK(second.results[4] == 1);
  CHECK(second.failure_rate == doctest::Approx(0.2));  // 1 of the 5 finished
  REQUIRE(second.duration);
  CHECK(second.duration->p50 == 20);
  CHECK(second.duration->p90 == 200);
  CHECK(second.duration->max == 200);
  REQUIRE(second.p50_change);
  CHECK(*second.p50_change == doctest::Approx(-0.6));
  REQUIRE(second.failure_rate_change);
  CHECK(*second.failure_rate_change == doctest::Approx(0.0));

  CHECK(buckets[2].step == "compile");
  CHECK(buckets[2].duration->p50 == 25);
  CHECK_FALSE(buckets[2].p50_change);  // a new series starts without a change
  CHECK(buckets[3].step == "compile");
  CHECK(buckets[3].runs == 5);
  CHECK(buckets[3].duration->p50 == 10);
  CHECK(buckets[3].duration->p90 == 100);
}

TEST_CASE("buckets of N builds, hours, the named step, empty ranges and one build") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_two_days(*store);
  TrendQuery query;
  query.bucket = parse_bucketing("4");
  query.step = "nothing";
  auto buckets = trends_of(*store, query);
  REQUIRE(buckets.size() == 4);  // 1-4, 5-8, 9-12, 13-16; no step named "nothing"
  CHECK(buckets[0].first_number == 1);
  CHECK(buckets[0].last_number == 4);
  CHECK(buckets[0].duration->p50 == 20);  // of 10, 20, 30, 40
  CHECK(buckets[2].first_number == 9);
  CHECK(buckets[2].last_number == 12);
  CHECK(buckets[3].running == 1);

  query.bucket = parse_bucketing("hour");
  query.step = "compile";
  query.since = kDay0 + kDay;
  buckets = trends_of(*store, query);
  REQUIRE(buckets.size() == 2);  // builds 11-16 all started in one hour; compile too
  CHECK(buckets[0].start == kDay0 + kDay);
  CHECK(buckets[0].end == kDay0 + kDay + 3600);
  CHECK(buckets[1].step == "compile");

  query.since = kDay0 + 10 * kDay;
  CHECK(trends_of(*store, query).empty());

  write(*store, "single", {{kDay0, 42, Results::kSuccess, {}, {}}});
  TrendQuery single;
  single.builders = {"single"};
  buckets = trends_of(*store, single);
  REQUIRE(buckets.size() == 1);
  CHECK(buckets[0].duration->p50 == 42);
  CHECK(buckets[0].duration->p90 == 42);
  CHECK_FALSE(buckets[0].p50_change);
}

TEST_CASE("trends refuses unknown builders, empty ranges and bad buckets") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_two_days(*store);
  const auto code_of = [&](const TrendQuery& query) {
    try {
      trends_of(*store, query);
    } catch (const Error& e) {
      return static_cast<int>(e.code());
    }
    return -1;
  };
  TrendQuery unknown;
  unknown.builders = {"nope"};
  CHECK(code_of(unknown) == static_cast<int>(ErrorCode::kNotFound));
  TrendQuery backwards;
  backwards.since = kDay0;
  backwards.until = kDay0;
  CHECK(code_of(backwards) == static_cast<int>(ErrorCode::kInvalidArgument));
  for (const char* bad : {"", "0", "month", "-3", "1x", "01"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_bucketing(bad), Error);
  }
}

TEST_CASE("a step failing and passing on one revision is flaky; a regression is not") {
  TempDir dir;
  auto store = Store::open(dir.file("store.db"));
  write_flaky(*store);
  FlakyQuery query;
  auto steps = flaky_of(*store, query);
  REQUIRE(steps.size() == 1);
  const FlakyStep& unit = steps[0];
  CHECK(unit.builder == "f");
  CHECK(unit.step == "unit");
  CHECK(unit.runs == 8);
  CHECK(unit.failures == 2);
  CHECK(unit.flips == 3);  // F S S S F S S S
  CHECK(unit.flip_rate == doctest::Approx(3.0 / 7.0));
  CHECK(unit.same_key_values == 2);  // r1 and r3
  std::vector<std::string> same_key;
  for (const FlakyEvidence& evidence : unit.evidence) {
    if (evidence.kind == FlakyEvidence::Kind::kSameKey) same_key.push_back(evidence.reference);
  }
  CHECK(same_key == std::vector<std::string>{"f/1/unit", "f/2/unit", "f/5/unit", "f/6/unit"});
  // The flips (at 6, 5 and 2) are same-key runs already: each reference is listed once.
  CHECK(unit.evidence.size() == 4);

  query.min_flip_rate = 0.1;  // now lint's one flip in seven counts too, ranked after
  steps = flaky_of(*store, query);
  REQUIRE(steps.size() == 2);
  CHECK(steps[1].step == "lint");
  CHECK(steps[1].same_key_values == 0);
  CHECK(steps[1].flips == 1);
  REQUIRE(steps[1].evidence.size() == 1);
  CHECK(steps[1].evidence[0].reference == "f/5/lint");

  query.key = "no_such_property";
  query.min_flip_rate = 0.5;
  CHECK(flaky_of(*store, query).empty());
  query.min_flip_rate = 1.5;
  CHECK_THROWS_AS(flaky_of(*store, query), Error);
}

TEST_CASE("the commands print text and JSON Lines and keep the exit statuses") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  {
    auto store = Store::open(db);
    write_two_days(*store);
    write_flaky(*store);
  }
  auto result = testing::buildhist({"--db", db, "trends", "b", "--json"});
  REQUIRE(result.status == 0);
  CHECK(result.out.find("{\"builder\":\"b\",\"step\":null,\"start\":1700006400") == 0);
  CHECK(result.out.find("\"duration\":{\"p50\":50,\"p90\":90,\"max\":100}") != std::string::npos);
  int lines = 0;
  for (char c : result.out) lines += c == '\n';
  CHECK(lines == 4);

  result = testing::buildhist({"--db", db, "trends", "b", "--bucket", "week"});
  REQUIRE(result.status == 0);
  CHECK(result.out.rfind("SERIES", 0) == 0);
  CHECK(result.out.find("b                             2023-11-13T00:00:00Z") != std::string::npos);

  result = testing::buildhist({"--db", db, "flaky", "--json"});
  REQUIRE(result.status == 0);
  CHECK(result.out.find("{\"builder\":\"f\",\"step\":\"unit\",\"runs\":8,\"failures\":2,\"flips\":3")
        == 0);

  CHECK(testing::buildhist({"--db", db, "trends", "nope"}).status == 3);
  CHECK(testing::buildhist({"--db", db, "trends", "--bucket", "month"}).status == 2);
  CHECK(testing::buildhist({"--db", db, "trends", "--since", "yesterday"}).status == 2);
  CHECK(testing::buildhist({"--db", db, "flaky", "--min-flip-rate", "2"}).status == 2);
  const auto missing = testing::buildhist({"--db", dir.file("missing.db"), "flaky"});
  CHECK(missing.status == 1);
  CHECK(missing.err.rfind("buildhist: error: ", 0) == 0);
}

TEST_CASE("the SVG and the HTML page parse as XML and hold each series") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  {
    auto store = Store::open(db);
    write_two_days(*store);
  }
  const std::string svg = dir.file("t.svg");
  const std::string html = dir.file("t.html");
  REQUIRE(testing::buildhist({"--db", db, "trends", "--svg", svg, "--html", html}).status == 0);
  for (const std::string& file : {svg, html}) {
    const auto checked = run_process("/usr/bin/env", {"python3", check_script(), "xml", file, "b:2", "b/compile:2"});
    CHECK_MESSAGE(checked.status == 0, checked.err);
  }
  // The check fails for a series that is not there.
  CHECK(run_process("/usr/bin/env", {"python3", check_script(), "xml", svg, "b/test:2"}).status == 1);
  const std::string page = testing::read_file(html);
  CHECK(page.find("http://") == page.find("http://www.w3.org"));  // nothing loaded
  CHECK(page.find("<script") == std::string::npos);
}

TEST_CASE("headless Chromium draws the page: lines and bars in their colours") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  {
    auto store = Store::open(db);
    write_two_days(*store);
  }
  const std::string html = dir.file("trends.html");
  REQUIRE(testing::buildhist({"--db", db, "trends", "b", "--step", "compile", "--html", html}).status == 0);
  const std::string artifacts = std::getenv("BUILDHIST_ARTIFACTS");
  const std::string png = artifacts + "/trends_screenshot.png";
  std::filesystem::remove(png);
  const auto shot = run_process(
      "/usr/bin/env", {"timeout", "60", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                  "--hide-scrollbars", "--window-size=800,700", "--user-data-dir=" + dir.file("profile"),
                  "--screenshot=" + png, "file://" + html});
  REQUIRE_MESSAGE(shot.status == 0, shot.err);
  const auto checked = run_process("/usr/bin/env", {"python3", check_script(), "png", png});
  CHECK_MESSAGE(checked.status == 0, checked.err);
}
