// The store's schema: embedded migrations, the version a store records, upgrades.
//
// A store records two numbers in its meta table (as Chromium's history database
// does): `version`, the migrations applied, and `compatible_version`, the oldest
// schema version whose code can still read it. A store whose compatible_version is
// newer than ours was made by a newer buildhist: it is refused and never touched.
#ifndef BUILDHIST_SQL_MIGRATIONS_H_
#define BUILDHIST_SQL_MIGRATIONS_H_

#include <optional>
#include <string>

namespace buildhist::internal {

class Connection;

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Generated from migrations/*.sql at build time, in version order from 1.
extern const Migration kMigrations[];
extern const int kMigrationCount;

struct SchemaInfo {
  int version = 0;
  int compatible_version = 0;
};

// The schema a store records; nullopt for an empty database (no tables at all).
// Reads only. Throws Error(kCorrupt) for a file that is not SQLite, or a SQLite
// database that is not a buildhist store.
std::optional<SchemaInfo> read_schema_info(Connection& connection);

// Throws Error(kTooNew) when `info` says the store is too new for this buildhist.
void check_compatible(const SchemaInfo& info, const std::string& path);

// Applies every migration the store lacks, one transaction each (the transaction
// re-reads the version, so two processes upgrading at once apply each step once).
void migrate(Connection& connection);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_MIGRATIONS_H_
