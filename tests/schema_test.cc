// The schema: migrations, the golden schema, and refusing what is not ours to open.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include <SQLiteCpp/SQLiteCpp.h>

#include "buildhist/error.h"
#include "buildhist/store.h"
#include "doctest_include.h"
#include "temp_dir.h"

using buildhist::ErrorCode;
using buildhist::Options;
using buildhist::Store;
using buildhist::testing::read_file;
using buildhist::testing::TempDir;

namespace {

using SchemaRows = std::set<std::tuple<std::string, std::string, std::string, std::string>>;

// Every table, index and trigger of a database, as SQLite itself records them.
SchemaRows schema_of(SQLite::Database& db) {
  SchemaRows rows;
  SQLite::Statement query(db,
                          "SELECT type, name, tbl_name, ifnull(sql, '') FROM sqlite_schema "
                          "WHERE name NOT LIKE 'sqlite_%'");
  while (query.executeStep()) {
    rows.emplace(query.getColumn(0).getString(), query.getColumn(1).getString(),
                 query.getColumn(2).getString(), query.getColumn(3).getString());
  }
  return rows;
}

std::string meta(const std::string& path, const std::string& key) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement query(db, "SELECT value FROM meta WHERE key = ?");
  query.bind(1, key);
  REQUIRE(query.executeStep());
  return query.getColumn(0).getString();
}

void create_store(const std::string& path) { Store::open(path); }

ErrorCode open_error(const std::string& path, const Options& options = {}) {
  try {
    Store::open(path, options);
  } catch (const buildhist::Error& e) {
    return e.code();
  }
  FAIL("the store opened");
  return ErrorCode::kIO;
}

}  // namespace

TEST_CASE("every migration applied to an empty store yields exactly the golden schema") {
  TempDir dir;
  create_store(dir.file("store.db"));
  SQLite::Database migrated(dir.file("store.db"), SQLite::OPEN_READONLY);

  const char* golden_path = std::getenv("BUILDHIST_SCHEMA_SQL");
  REQUIRE(golden_path != nullptr);
  SQLite::Database golden(":memory:", SQLite::OPEN_READWRITE);
  golden.exec(read_file(golden_path));

  const SchemaRows expected = schema_of(golden);
  CHECK(expected.size() >= 8);  // the golden file really was read
  CHECK(schema_of(migrated) == expected);
}

TEST_CASE("a store records its schema version and the oldest version that can read it") {
  TempDir dir;
  create_store(dir.file("store.db"));
  CHECK(std::stoi(meta(dir.file("store.db"), "version")) == buildhist::schema_version());
  CHECK(std::stoi(meta(dir.file("store.db"), "compatible_version")) <=
        buildhist::schema_version());
}

TEST_CASE("reopening a current store migrates nothing and keeps its data") {
  TempDir dir;
  {
    auto store = Store::open(dir.file("store.db"));
    store->start_build("b", {"w", 100, "building", {}, {}});
  }
  auto store = Store::open(dir.file("store.db"));
  REQUIRE(store->build("b", 1) != nullptr);
  CHECK(std::stoi(meta(dir.file("store.db"), "version")) == buildhist::schema_version());
}

TEST_CASE("a store made by a newer buildhist is refused and left byte-for-byte untouched") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  create_store(path);
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE meta SET value = '99' WHERE key IN ('version', 'compatible_version')");
    db.exec("PRAGMA journal_mode = DELETE");  // everything in the main file
  }
  const std::string before = read_file(path);
  CHECK(open_error(path) == ErrorCode::kTooNew);
  Options read_only;
  read_only.read_only = true;
  CHECK(open_error(path, read_only) == ErrorCode::kTooNew);
  CHECK(read_file(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST_CASE("a newer store that declares itself readable by this version opens") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  create_store(path);
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE meta SET value = '99' WHERE key = 'version'");
  }
  CHECK_NOTHROW(Store::open(path));
  CHECK(meta(path, "version") == "99");  // not downgraded
}

TEST_CASE("a file that is not a SQLite database is refused and left untouched") {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  std::ofstream(path) << "these are not the builds you are looking for\n"
                      << std::string(5000, 'x');
  const std::string before = read_file(path);
  CHECK(open_error(path) == ErrorCode::kCorrupt);
  CHECK(read_file(path) == before);
}

TEST_CASE("another application's SQLite database is refused and left untouched") {
  TempDir dir;
  const std::string path = dir.file("other.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE build (id INTEGER PRIMARY KEY, whatever TEXT)");
  }
  const std::string before = read_file(path);
  CHECK(open_error(path) == ErrorCode::kCorrupt);
  CHECK(read_file(path) == before);
}

TEST_CASE("a directory is not a store") {
  TempDir dir;
  CHECK(open_error(dir.path().string()) == ErrorCode::kIO);
}

TEST_CASE("opening a missing store read-only fails and creates nothing") {
  TempDir dir;
  Options read_only;
  read_only.read_only = true;
  const std::string path = dir.file("missing.db");
  CHECK(open_error(path, read_only) == ErrorCode::kIO);
  Options no_create;
  no_create.create_if_missing = false;
  CHECK(open_error(path, no_create) == ErrorCode::kIO);
  CHECK_FALSE(std::filesystem::exists(path));
}
