// Stores in awkward places and states: a read-only mount, a read-only directory,
// a store another process holds locked, a compaction already running. Queries
// answer, writes are refused with a reason, nothing is created beside the store.
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::ProcessResult;
using buildhist::testing::TempDir;

namespace {

ProcessResult run(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {"--db", db});
  return buildhist::testing::buildhist(args);
}

void make_store(const std::string& path) {
  const auto result = run(path, {"simulate", "--builders", "2", "--builds", "5", "--log-lines", "3"});
  REQUIRE_MESSAGE(result.status == 0, result.err);
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));  // closed cleanly: one file
}

std::set<std::string> files_in(const std::filesystem::path& directory) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

void check_one_line_error(const ProcessResult& result, int status, const std::string& mentions) {
  CHECK(result.status == status);
  CHECK(result.err.rfind("buildhist: error: ", 0) == 0);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK_MESSAGE(result.err.find(mentions) != std::string::npos, result.err);
}

// Queries answer from the store at `path`, and writes are refused for `reason`;
// `as` runs the command (directly, or as another user).
void check_read_only(const std::string& path, const std::string& reason,
                     const std::function<ProcessResult(std::vector<std::string>)>& as) {
  const auto before = files_in(std::filesystem::path(path).parent_path());
  const auto builders = as({"--db", path, "builders"});
  CHECK_MESSAGE(builders.status == 0, builders.err);
  CHECK(builders.out.find("builder-01") != std::string::npos);
  const auto show = as({"--db", path, "--json", "show", "builder-00/5"});
  CHECK_MESSAGE(show.status == 0, show.err);
  const auto log = as({"--db", path, "log", "builder-00/5/git/stdio"});
  CHECK(log.status == 0);
  CHECK(std::count(log.out.begin(), log.out.end(), '\n') == 3);
  CHECK(as({"--db", path, "check"}).status == 0);
  CHECK(as({"--db", path, "stats"}).status == 0);
  check_one_line_error(as({"--db", path, "simulate", "--builds", "1"}), 1, reason);
  check_one_line_error(as({"--db", path, "compact"}), 1, reason);
  CHECK(files_in(std::filesystem::path(path).parent_path()) == before);
}

}  // namespace

TEST_CASE("a store on a read-only mount answers queries and refuses writes, saying why") {
  if (geteuid() != 0) {
    MESSAGE("skipped: mounting a read-only file system needs root");
    return;
  }
  TempDir dir;
  const std::filesystem::path mount_point = dir.path() / "ro";
  std::filesystem::create_directory(mount_point);
  REQUIRE(mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=16m") == 0);
  const std::string path = (mount_point / "store.db").string();
  make_store(path);
  REQUIRE(mount(nullptr, mount_point.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
  check_read_only(path, "the file system is read-only", [](std::vector<std::string> args) {
    return buildhist::testing::buildhist(args);
  });
  CHECK(umount(mount_point.c_str()) == 0);
}

TEST_CASE("a store in a read-only directory answers queries and refuses writes, saying why") {
  TempDir dir;
  const std::filesystem::path directory = dir.path() / "backup";
  std::filesystem::create_directory(directory);
  const std::string path = (directory / "store.db").string();
  make_store(path);
  std::filesystem::permissions(path, std::filesystem::perms(0444));
  std::filesystem::permissions(directory, std::filesystem::perms(0555));
  // Root may write anywhere: run the command as an ordinary user, as a backup's
  // reader would be (the binary and the directories above it are readable).
  std::function<ProcessResult(std::vector<std::string>)> as_user = [](std::vector<std::string> args) {
    return buildhist::testing::buildhist(args);
  };
  if (geteuid() == 0) {
    std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
    as_user = [](std::vector<std::string> args) {
      args.insert(args.begin(), {"--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                 buildhist::testing::buildhist_binary()});
      return buildhist::testing::run_process("/usr/bin/setpriv", args);
    };
  }
  check_read_only(path, "is not writable", as_user);
  std::filesystem::permissions(directory, std::filesystem::perms(0755));
}

TEST_CASE("a store in a directory that does not exist is not created, and the error says so") {
  TempDir dir;
  const std::string path = (dir.path() / "missing" / "store.db").string();
  const auto result = run(path, {"simulate", "--builds", "1"});
  check_one_line_error(result, 1, "cannot create the store: its directory");
  CHECK(result.err.find("does not exist") != std::string::npos);
  CHECK(result.err.find("queries can still read it") == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "missing"));
}

TEST_CASE("a store another process holds locked: queries answer, a writer waits and says so") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  make_store(path);
  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  other.exec("UPDATE meta SET value = value WHERE key = 'version'");
  CHECK(run(path, {"builders"}).status == 0);
  CHECK(run(path, {"show", "builder-00/1"}).status == 0);
  // The master's writer tries again past each busy timeout, then gives up saying
  // the store is locked; what it had flushed before stays.
  const auto writer = run(path, {"--busy-timeout", "20", "simulate", "--builds", "1"});
  check_one_line_error(writer, 1, "locked by another process");
  other.exec("ROLLBACK");
  const auto check = run(path, {"check"});
  CHECK_MESSAGE(check.status == 0, check.out);
}

TEST_CASE("a second compact is refused while one runs, naming its process") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  make_store(path);
  // A compaction marked as running by this (live) process.
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 1));
  std::string field, start;
  for (int index = 3; fields >> field; ++index) {
    if (index == 22) start = field;
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string token = std::string(host) + ":" + std::to_string(getpid()) + ":" + start + ":1";
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO meta (key, value) VALUES ('compaction', '" + token + "')");
  }
  check_one_line_error(run(path, {"compact"}), 1,
                       "another compact is running on it (process " + std::to_string(getpid()));
  CHECK(run(path, {"compact", "--dry-run"}).status == 0);  // a dry run reads only
  // Once that process is gone, its mark is taken over.
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE meta SET value = '" + std::string(host) + ":999999999:1:1' "
            "WHERE key = 'compaction'");
  }
  CHECK(run(path, {"compact"}).status == 0);
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT count(*) FROM meta WHERE key = 'compaction'").getInt() == 0);
}
