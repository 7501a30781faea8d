// The schema: migrations, the golden schema, and refusing what is not ours to open.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>
#include <set>
#include <tuple>

#include <SQLiteCpp/SQLiteCpp.h>

#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/store.h"
#include "doctest_include.h"
#include "sql/migrations.h"
#include "temp_dir.h"
#include "util/log_codec.h"

using buildhist::ErrorCode;
using buildhist::History;
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

namespace {

// A store as buildhist of schema version `version` made it: migrations 1..version
// applied, and the version recorded, as that buildhist's runner did.
void make_store_at_version(const std::string& path, int version) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode = WAL");
  for (int i = 0; i < version; ++i) db.exec(buildhist::internal::kMigrations[i].sql);
  db.exec("INSERT INTO meta (key, value) VALUES ('version', '" + std::to_string(version) + "')");
}

// The text of log `log` of version-2 store `db`: `count` lines, in chunks of 7
// lines, stored as text or as zstd (codec 1) by turns.
std::string write_v2_log(SQLite::Database& db, std::int64_t log, int count) {
  std::string all;
  for (int first = 0; first < count; first += 7) {
    std::string text;
    const int last = std::min(count, first + 7) - 1;
    for (int line = first; line <= last; ++line) {
      text += "o[" + std::to_string(line) + "] compiling unit_" + std::to_string(line % 5) + ".cc\n";
    }
    const bool zstd = (first / 7) % 2 == 1;
    const std::string content = zstd ? buildhist::internal::compress_chunk(text, 3) : text;
    SQLite::Statement insert(db, "INSERT INTO log_chunk (log_id, first_line, last_line, codec, "
                                 "raw_bytes, content) VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, static_cast<std::int64_t>(log));
    insert.bind(2, first);
    insert.bind(3, last);
    insert.bind(4, zstd ? 1 : 0);
    insert.bind(5, static_cast<std::int64_t>(text.size()));
    insert.bind(6, content.data(), static_cast<int>(content.size()));
    insert.exec();
    all += text;
  }
  db.exec("UPDATE log SET num_lines = " + std::to_string(count) + " WHERE id = " +
          std::to_string(log));
  return all;
}

// Two builders with builds, properties, steps, logs of text and of no lines, a
// numbering row; returns each log's text by its id.
std::map<std::int64_t, std::string> fill_v2_store(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec(
      "INSERT INTO builder (id, name) VALUES (1, 'linux'), (2, 'mac os');"
      "INSERT INTO build (id, builder_id, number, worker, started_at, complete_at, state_string, "
      "results) VALUES (1, 1, 1, 'w1', 100, 160, 'build successful', 0),"
      "(2, 1, 2, 'w2', 200, 290, 'failed test', 2), (3, 2, 1, 'w1', 300, NULL, 'building', NULL);"
      "INSERT INTO build_property VALUES (1, 'got_revision', '\"3f2a\"', 'Git'),"
      "(1, 'buildnumber', '1', 'Build'), (2, 'got_revision', '\"77aa\"', 'Git');"
      "INSERT INTO step (id, build_id, number, name, started_at, complete_at, state_string, "
      "results, urls, hidden) VALUES (1, 1, 0, 'compile', 100, 150, 'compiled', 0, '[]', 0),"
      "(2, 2, 0, 'test', 200, 290, 'failed', 2, '[{\"name\":\"r\",\"url\":\"http://r\"}]', 1),"
      "(3, 3, 0, 'compile', 300, NULL, 'compiling', NULL, '[]', 0);"
      "INSERT INTO log (id, step_id, slug, name, type, num_lines, complete) VALUES "
      "(1, 1, 'stdio', 'stdio', 's', 0, 1), (2, 2, 'stdio', 'stdio', 's', 0, 1),"
      "(3, 2, 'empty', 'empty', 't', 0, 1), (4, 3, 'stdio', 'stdio', 's', 0, 0);"
      "INSERT INTO numbering VALUES (1, '', 0, 290);");
  return {{1, write_v2_log(db, 1, 30)}, {2, write_v2_log(db, 2, 12)}, {3, ""},
          {4, write_v2_log(db, 4, 5)}};
}

// Every row of every table but meta, in the columns version 2 has.
std::vector<std::string> v2_rows(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  std::vector<std::string> rows;
  for (const char* sql :
       {"SELECT id, name, build_count FROM builder ORDER BY id",
        "SELECT id, builder_id, number, worker, started_at, complete_at, state_string, results "
        "FROM build ORDER BY id", "SELECT * FROM build_property ORDER BY build_id, name",
        "SELECT * FROM step ORDER BY id",
        "SELECT id, step_id, slug, name, type, num_lines, complete FROM log ORDER BY id",
        "SELECT id, log_id, first_line, last_line, codec, raw_bytes, hex(content) FROM log_chunk "
        "ORDER BY id",
        "SELECT * FROM numbering ORDER BY builder_id"}) {
    SQLite::Statement query(db, sql);
    while (query.executeStep()) {
      std::string row = sql;
      for (int i = 0; i < query.getColumnCount(); ++i) {
        row += "|" + (query.isColumnNull(i) ? std::string("NULL") : query.getColumn(i).getString());
      }
      rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace

TEST_CASE("a version-2 store is upgraded to 3 at a writer's open, every row kept, reads the same") {
  TempDir dir;
  const std::string path = dir.file("v2.db");
  make_store_at_version(path, 2);
  const auto texts = fill_v2_store(path);
  const std::vector<std::string> before = v2_rows(path);
  REQUIRE(before.size() == 2 + 3 + 3 + 3 + 4 + (5 + 2 + 1) + 1);

  auto store = Store::open(path);
  CHECK(meta(path, "version") == std::to_string(buildhist::schema_version()));
  CHECK(meta(path, "compatible_version") == "3");
  CHECK(v2_rows(path) == before);
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    // Migration 4 fills step_outcomes from the steps that passed or failed.
    CHECK(db.execAndGet("SELECT group_concat(step_outcomes, '|') FROM build ORDER BY id")
              .getString() == "07:compile|24:test|");
    CHECK(db.execAndGet("SELECT count(*) FROM log WHERE purged_at IS NOT NULL").getInt() == 0);
    CHECK(db.execAndGet("SELECT count(*) FROM log_chunk WHERE dictionary_id IS NOT NULL")
              .getInt() == 0);
  }
  History history(*store);
  CHECK(history.check([](const buildhist::Problem& problem) {
    FAIL_CHECK(problem.where << ": " << problem.what);
  }) == 0);
  const std::vector<std::pair<buildhist::Reference, std::int64_t>> logs = {
      {{"linux", 1, buildhist::StepSelector{0, {}}, "stdio"}, 1},
      {{"linux", 2, buildhist::StepSelector{0, {}}, "stdio"}, 2},
      {{"linux", 2, buildhist::StepSelector{0, {}}, "empty"}, 3},
      {{"mac os", 1, buildhist::StepSelector{0, {}}, "stdio"}, 4}};
  for (const auto& [reference, id] : logs) {
    const buildhist::LogDetail log = history.find_log(reference);
    CHECK_FALSE(log.log.purged_at);
    std::string text;
    history.read_log(log, 0, 0, [&](const buildhist::LogLine& line) {
      text.append(line.text).append("\n");
      return true;
    });
    CHECK(text == texts.at(id));
  }
}

TEST_CASE("a version-2 store opened read-only is refused as needing an upgrade, untouched") {
  TempDir dir;
  const std::string path = dir.file("v2.db");
  make_store_at_version(path, 2);
  fill_v2_store(path);
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA journal_mode = DELETE");  // everything in the main file
  }
  const std::string before = read_file(path);
  Options read_only;
  read_only.read_only = true;
  try {
    Store::open(path, read_only);
    FAIL("a version-2 store opened read-only");
  } catch (const buildhist::Error& e) {
    CHECK(e.code() == ErrorCode::kFailedPrecondition);
    CHECK(std::string(e.what()).find("open it once for writing to upgrade it") !=
          std::string::npos);
  }
  CHECK(read_file(path) == before);
}

TEST_CASE("an upgrade that fails part-way leaves the version-2 store as it was") {
  TempDir dir;
  const std::string path = dir.file("v2.db");
  make_store_at_version(path, 2);
  fill_v2_store(path);
  const std::vector<std::string> before = v2_rows(path);
  {
    // Migration 3 adds log.purged_at, then fails creating a table already there.
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("CREATE TABLE zstd_dictionary (x)");
  }
  CHECK(open_error(path) == ErrorCode::kIO);
  CHECK(meta(path, "version") == "2");
  CHECK(v2_rows(path) == before);
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT count(*) FROM pragma_table_info('log') WHERE name = 'purged_at'")
            .getInt() == 0);
}

TEST_CASE("step_outcomes follows its build's steps through inserts, updates and deletes") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  create_store(path);
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec(
      "INSERT INTO builder (id, name) VALUES (1, 'b');"
      "INSERT INTO build (id, builder_id, number, worker, started_at, state_string) VALUES "
      "(1, 1, 1, 'w', 0, ''), (2, 1, 2, 'w', 0, '');"
      "INSERT INTO step (build_id, number, name, started_at, state_string, results, urls, hidden) "
      "VALUES (1, 0, 'compile', 0, '', 0, '[]', 0), (1, 1, 't\xc3\xa9st', 0, '', NULL, '[]', 0),"
      "(1, 2, 'skipped', 0, '', 3, '[]', 0);");
  const auto outcomes = [&](int build) {
    return db.execAndGet("SELECT step_outcomes FROM build WHERE id = " + std::to_string(build))
        .getString();
  };
  CHECK(outcomes(1) == "07:compile");  // running and skipped steps are left out
  db.exec("UPDATE step SET results = 2 WHERE number = 1");
  const std::string both = outcomes(1);
  CHECK((both == "07:compile25:t\xc3\xa9st" || both == "25:t\xc3\xa9st" "07:compile"));
  db.exec("UPDATE step SET state_string = 'x', results = 2 WHERE number = 1");  // no change
  CHECK(outcomes(1) == both);
  db.exec("UPDATE step SET build_id = 2 WHERE name = 'compile'");
  CHECK(outcomes(1) == "25:t\xc3\xa9st");
  CHECK(outcomes(2) == "07:compile");
  db.exec("DELETE FROM step WHERE build_id = 1");
  CHECK(outcomes(1).empty());
  CHECK(outcomes(2) == "07:compile");
}
