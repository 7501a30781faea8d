#include "sql/migrations.h"

#include <SQLiteCpp/Transaction.h>

#include "buildhist/error.h"
#include "buildhist/store.h"
#include "sql/connection.h"

namespace buildhist {

int schema_version() noexcept { return internal::kMigrationCount; }

namespace internal {

namespace {

int meta_int(Connection& connection, const char* key) {
  auto& query = connection.statement("SELECT value FROM meta WHERE key = ?");
  query.bind(1, key);
  if (!query.executeStep()) {
    throw Error(ErrorCode::kCorrupt, connection.path() + ": not a buildhist store (no " +
                                         key + " in its meta table)");
  }
  return query.getColumn(0).getInt();
}

}  // namespace

std::optional<SchemaInfo> read_schema_info(Connection& connection) {
  const std::string what = "read the schema version of " + connection.path();
  return guard_sql(what, [&]() -> std::optional<SchemaInfo> {
    auto& tables = connection.statement(
        "SELECT count(*), count(*) FILTER (WHERE name = 'meta') FROM sqlite_schema "
        "WHERE type = 'table'");
    tables.executeStep();
    const int table_count = tables.getColumn(0).getInt();
    const bool has_meta = tables.getColumn(1).getInt() == 1;
    tables.reset();
    if (table_count == 0) return std::nullopt;
    if (!has_meta) {
      throw Error(ErrorCode::kCorrupt,
                  connection.path() + ": not a buildhist store (a SQLite database without "
                                      "buildhist's meta table)");
    }
    SchemaInfo info;
    info.version = meta_int(connection, "version");
    info.compatible_version = meta_int(connection, "compatible_version");
    return info;
  });
}

void check_compatible(const SchemaInfo& info, const std::string& path) {
  if (info.compatible_version > kMigrationCount) {
    throw Error(ErrorCode::kTooNew,
                path + ": made by a newer buildhist (schema version " +
                    std::to_string(info.version) + ", readable from version " +
                    std::to_string(info.compatible_version) + "; this buildhist knows up to " +
                    std::to_string(kMigrationCount) + "); left untouched");
  }
}

void migrate(Connection& connection) {
  for (int index = 0; index < kMigrationCount; ++index) {
    const Migration& migration = kMigrations[index];
    const std::string what = "migrate " + connection.path() + " to schema version " +
                             std::to_string(migration.version) + " (" + migration.name + ")";
    guard_sql(what, [&] {
      SQLite::Transaction transaction(connection.db(), SQLite::TransactionBehavior::IMMEDIATE);
      const auto info = read_schema_info(connection);
      if (info) check_compatible(*info, connection.path());
      const int current = info ? info->version : 0;
      if (current >= migration.version) return;  // applied already
      // No statement may be left running: a migration may drop a table.
      connection.reset_statements();
      connection.exec(migration.sql);
      auto& record = connection.statement(
          "INSERT INTO meta (key, value) VALUES ('version', ?) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
      record.bind(1, migration.version);
      record.exec();
      transaction.commit();
    });
  }
}

}  // namespace internal
}  // namespace buildhist
