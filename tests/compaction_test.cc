// `buildhist compact` killed at any point, run twice at once, and run beside a
// master: the real command as a process, its store read back through `export
// --with-logs` (every build and every log line) and `check`.
//
// A compaction killed anywhere must leave a store that opens, passes `check`,
// holds every build the policy keeps with every line, and that compacting again
// brings to the state one uninterrupted compaction gives.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"

extern char** environ;

using namespace buildhist;
using buildhist::testing::ProcessResult;
using buildhist::testing::TempDir;

namespace {

constexpr int kBuilders = 3;
constexpr int kBuilds = 30;
constexpr int kKeep = 10;
constexpr int kKilled = 128 + SIGKILL;

ProcessResult run(const std::string& db, std::vector<std::string> args,
                  const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), {"--db", db});
  return buildhist::testing::buildhist(args, env);
}

// Small batches, so that every phase takes many steps for a failpoint to fall in.
const std::vector<std::string> kCompact = {"compact", "--keep-builds", std::to_string(kKeep),
                                           "--batch-builds", "4"};

void make_store(const std::string& db) {
  const ProcessResult made =
      run(db, {"simulate", "--builders", std::to_string(kBuilders), "--builds",
               std::to_string(kBuilds), "--log-lines", "40", "--appends", "4"});
  REQUIRE_MESSAGE(made.status == 0, made.err);
}

void copy_store(const std::string& from, const std::string& to) {
  for (const char* suffix : {"", "-wal"}) {
    if (std::filesystem::exists(from + suffix)) {
      std::filesystem::copy_file(from + suffix, to + suffix,
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
}

// A build as `export --with-logs` gives it: its line of fields, and each log's
// lines in order (however the export splits them, which follows the chunks).
struct BuildDump {
  std::string fields;
  std::map<std::pair<int, std::string>, std::vector<std::string>> lines;
  bool operator==(const BuildDump&) const = default;
};
using Key = std::pair<std::string, int>;
using Dump = std::map<Key, BuildDump>;

Dump dump(const std::string& db) {
  const ProcessResult out = run(db, {"export", "--with-logs"});
  REQUIRE_MESSAGE(out.status == 0, out.err);
  Dump builds;
  BuildDump* current = nullptr;
  std::size_t start = 0;
  for (std::size_t end; (end = out.out.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = out.out.substr(start, end - start);
    rapidjson::Document record;
    record.Parse(line.c_str());
    REQUIRE(record.IsObject());
    if (record.HasMember("builder")) {
      current = &builds[{record["builder"].GetString(), record["number"].GetInt()}];
      current->fields = line;
      continue;
    }
    REQUIRE(current != nullptr);
    auto& lines = current->lines[{record["step"].GetInt(), record["log"].GetString()}];
    for (const auto& text : record["lines"].GetArray()) lines.emplace_back(text.GetString());
  }
  return builds;
}

// What the retention policy keeps: every builder's newest kKeep builds.
bool kept(const Key& key) { return key.second > kBuilds - kKeep; }

void check_passes(const std::string& db) {
  const ProcessResult check = run(db, {"check"});
  CHECK_MESSAGE(check.status == 0, check.out, check.err);
}

// A store a compaction was killed in: whole, every kept build there with every
// line, every build there as it was before.
void check_whole(const std::string& db, const Dump& before) {
  check_passes(db);
  const Dump after = dump(db);
  for (const auto& [key, build] : before) {
    if (kept(key)) CHECK_MESSAGE(after.count(key) == 1, key.first, "/", key.second);
  }
  for (const auto& [key, build] : after) {
    REQUIRE(before.count(key) == 1);
    CHECK_MESSAGE(build == before.at(key), key.first, "/", key.second);
  }
}

// What `stats` says of the rows and the log text, but not the file's size.
std::string contents(const std::string& db) {
  const ProcessResult stats = run(db, {"--json", "stats"});
  REQUIRE(stats.status == 0);
  rapidjson::Document document;
  document.Parse(stats.out.c_str());
  std::string text;
  for (const auto& row : document["rows"].GetObject()) {
    text += std::string(row.name.GetString()) + "=" + std::to_string(row.value.GetInt64()) + " ";
  }
  return text + "raw=" + std::to_string(document["log_raw_bytes"].GetInt64()) +
         " stored=" + std::to_string(document["log_stored_bytes"].GetInt64());
}

// A store, what it holds, and what one uninterrupted compaction makes of it.
struct Fixture {
  TempDir dir;
  std::string original = dir.file("original.db");
  Dump before;
  Dump compacted;
  std::string compacted_contents;

  Fixture() {
    make_store(original);
    before = dump(original);
    const std::string reference = dir.file("reference.db");
    copy_store(original, reference);
    const ProcessResult done = run(reference, kCompact);
    REQUIRE_MESSAGE(done.status == 0, done.err);
    compacted = dump(reference);
    compacted_contents = contents(reference);
    REQUIRE(compacted.size() == static_cast<std::size_t>(kBuilders * kKeep));
  }

  // After a killed compaction in `db`: compacting again ends where one
  // uninterrupted compaction does.
  void check_finished_by_another(const std::string& db) const {
    const ProcessResult again = run(db, kCompact);
    CHECK_MESSAGE(again.status == 0, again.err);
    check_passes(db);
    CHECK(dump(db) == compacted);
    CHECK(contents(db) == compacted_contents);
  }
};

// Starts `buildhist --db db args` with `env` added, its output to /dev/null.
pid_t spawn(const std::string& db, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env) {
  std::vector<std::string> words = {buildhist::testing::buildhist_binary(), "--db", db};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::vector<std::string> settings;
  for (const auto& [name, value] : env) settings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (char** entry = environ; *entry != nullptr; ++entry) envp.push_back(*entry);
  for (std::string& setting : settings) envp.push_back(setting.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(error == 0);
  return pid;
}

// Waits for `pid` to exit, or kills it (SIGKILL) once `delay` has passed; returns
// its status as run_process() gives it.
int kill_after(pid_t pid, std::chrono::milliseconds delay) {
  const int exited = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  REQUIRE(exited >= 0);
  pollfd wait_for{exited, POLLIN, 0};
  if (poll(&wait_for, 1, static_cast<int>(delay.count())) == 0) kill(pid, SIGKILL);
  close(exited);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("a compaction killed at a failpoint leaves a whole store, and compacting again "
          "finishes the job") {
  const Fixture fixture;
  // Retention takes 15 steps here (5 batches of 4 builds, 3 builders), then
  // recompression some more: the 20th step inside a batch is a recompression.
  for (const std::string failpoint :
       {"compact.between_batches", "compact.between_batches@7", "compact.inside_batch",
        "compact.inside_batch@20", "compact.vacuum", "compact.vacuum@2", "compact.checkpoint"}) {
    CAPTURE(failpoint);
    const std::string db = fixture.dir.file("killed.db");
    std::filesystem::remove(db + "-wal");
    copy_store(fixture.original, db);
    const ProcessResult killed = run(db, kCompact, {{"BUILDHIST_FAILPOINT", failpoint}});
    REQUIRE(killed.status == kKilled);  // the failpoint was reached
    check_whole(db, fixture.before);
    fixture.check_finished_by_another(db);
  }
}

TEST_CASE("a compaction killed at random points leaves a whole store, and compacting again "
          "finishes the job") {
  const Fixture fixture;
  const std::string db = fixture.dir.file("killed.db");
  const auto recover = [&](int status) {
    CHECK((status == kKilled || status == 0));
    check_whole(db, fixture.before);
    fixture.check_finished_by_another(db);
    return status == kKilled;
  };
  const auto fresh_copy = [&] {
    std::filesystem::remove(db + "-wal");
    copy_store(fixture.original, db);
  };
  std::mt19937 random(11);
  // At the Nth failpoint passed, whichever it is: a random step of a random phase
  // (about 50 here; past the last, the compaction completes).
  int killed = 0;
  for (int round = 0; round < 5; ++round) {
    const int pass = std::uniform_int_distribution<int>(1, 50)(random);
    CAPTURE(pass);
    fresh_copy();
    killed += recover(run(db, kCompact, {{"BUILDHIST_FAILPOINT", "*@" + std::to_string(pass)}}).status);
  }
  CHECK(killed > 0);
  // At random moments, by the clock, as an operator's kill -9 would.
  for (int round = 0; round < 4; ++round) {
    const auto delay = std::chrono::milliseconds(
        std::uniform_int_distribution<int>(20, 1000)(random));
    CAPTURE(delay.count());
    fresh_copy();
    recover(kill_after(spawn(db, kCompact, {}), delay));
  }
}

TEST_CASE("a second compaction is refused while one runs, and the first completes") {
  const Fixture fixture;
  const std::string db = fixture.dir.file("store.db");
  copy_store(fixture.original, db);
  // The first holds still between two of its steps, mark taken.
  const pid_t first = spawn(db, kCompact, {{"BUILDHIST_FAILPOINT", "compact.between_batches@3:stop"}});
  int status = 0;
  REQUIRE(waitpid(first, &status, WUNTRACED) == first);
  REQUIRE(WIFSTOPPED(status));
  const ProcessResult second = run(db, kCompact);
  CHECK(second.status == 1);
  CHECK(second.out.empty());
  CHECK(second.err.find("another compact is running on it (process " + std::to_string(first)) !=
        std::string::npos);
  kill(first, SIGCONT);
  REQUIRE(waitpid(first, &status, 0) == first);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  check_passes(db);
  CHECK(dump(db) == fixture.compacted);
}

TEST_CASE("a compaction beside a master loses nothing the master flushed") {
  TempDir dir;
  const std::string db = dir.file("store.db");
  make_store(db);
  constexpr int kLines = 400;
  const auto line = [](int number, int index) {
    return "o line " + std::to_string(index) + " of build " + std::to_string(number) +
           " compiling src/module_" + std::to_string(index % 17) + ".cc";
  };
  auto store = Store::open(db);
  std::mutex mu;
  std::condition_variable flushed_more;
  int flushed = 0;  // builds 1..flushed are committed; guarded by mu
  std::atomic<bool> stop{false};
  std::thread master([&] {
    for (int number = 1; !stop.load(); ++number) {
      BuildStart start;
      start.worker = "worker-0";
      start.started_at = 1700000000 + number;
      auto build = store->start_build("master", start);
      CHECK(build->number() == number);
      auto step = build->add_step("compile", start.started_at);
      auto log = step->add_log("stdio", LogType::kStdio);
      for (int piece = 0; piece < 10; ++piece) {
        std::string text;
        for (int index = piece * kLines / 10; index < (piece + 1) * kLines / 10; ++index) {
          text += line(number, index) + "\n";
        }
        log->append(text);
      }
      log->finish();
      step->finish(Results::kSuccess, start.started_at + 1);
      build->finish(Results::kSuccess, start.started_at + 1, Durability::kImmediate);
      std::lock_guard lock(mu);
      flushed = number;
      flushed_more.notify_all();
    }
  });
  {
    std::unique_lock lock(mu);
    flushed_more.wait(lock, [&] { return flushed >= 3; });
  }
  const ProcessResult compacted = run(db, {"compact", "--batch-builds", "4"});
  {
    std::unique_lock lock(mu);
    const int before = flushed;
    flushed_more.wait(lock, [&] { return flushed > before; });  // it wrote beside compact
  }
  stop = true;
  master.join();
  store.reset();
  CHECK_MESSAGE(compacted.status == 0, compacted.err);
  check_passes(db);
  const Dump after = dump(db);
  for (int number = 1; number <= flushed; ++number) {
    CAPTURE(number);
    REQUIRE(after.count({"master", number}) == 1);
    const auto& lines = after.at({"master", number}).lines;
    REQUIRE(lines.count({0, "stdio"}) == 1);
    const std::vector<std::string>& text = lines.at({0, "stdio"});
    REQUIRE(text.size() == static_cast<std::size_t>(kLines));
    for (int index = 0; index < kLines; ++index) CHECK(text[index] == line(number, index));
  }
}
