#include "sql/numbering.h"

#include <SQLiteCpp/Transaction.h>

#include "buildhist/error.h"
#include "sql/connection.h"

namespace buildhist::internal {

namespace {

struct NumberingRow {
  std::string holder;
  std::int64_t shared_at = 0;
};

std::optional<NumberingRow> read_row(Connection& connection, std::int64_t builder_id) {
  auto& query =
      connection.statement("SELECT holder, shared_at FROM numbering WHERE builder_id = ?");
  query.bind(1, static_cast<std::int64_t>(builder_id));
  if (!query.executeStep()) return std::nullopt;
  NumberingRow row{query.getColumn(0).getString(), query.getColumn(1).getInt64()};
  query.reset();
  return row;
}

void write_row(Connection& connection, std::int64_t builder_id, const std::string& holder,
               std::int64_t shared_at) {
  auto& upsert = connection.statement(
      "INSERT INTO numbering (builder_id, holder, wanted, shared_at) VALUES (?, ?, 0, ?) "
      "ON CONFLICT (builder_id) DO UPDATE SET holder = excluded.holder, wanted = 0, "
      "shared_at = excluded.shared_at");
  upsert.bind(1, static_cast<std::int64_t>(builder_id));
  upsert.bind(2, holder);
  upsert.bind(3, static_cast<std::int64_t>(shared_at));
  upsert.exec();
}

void ask_for(Connection& connection, std::int64_t builder_id) {
  auto& update = connection.statement("UPDATE numbering SET wanted = 1 WHERE builder_id = ?");
  update.bind(1, static_cast<std::int64_t>(builder_id));
  update.exec();
}

int last_number(Connection& connection, std::int64_t builder_id) {
  auto& query = connection.statement("SELECT max(number) FROM build WHERE builder_id = ?");
  query.bind(1, static_cast<std::int64_t>(builder_id));
  query.executeStep();
  const int last = query.isColumnNull(0) ? 0 : query.getColumn(0).getInt();
  query.reset();
  return last;
}

std::int64_t ensure_builder(Connection& connection, std::string_view builder) {
  auto& insert =
      connection.statement("INSERT INTO builder (name) VALUES (?) ON CONFLICT (name) DO NOTHING");
  insert.bind(1, std::string(builder));
  insert.exec();
  auto& query = connection.statement("SELECT id FROM builder WHERE name = ?");
  query.bind(1, std::string(builder));
  query.executeStep();
  const std::int64_t id = query.getColumn(0).getInt64();
  query.reset();
  return id;
}

}  // namespace

NumberingState acquire_numbering(Connection& connection, std::string_view builder,
                                 const std::string& holder, const HolderIsGone& gone,
                                 std::int64_t now) {
  return guard_sql("take the numbering of builder " + std::string(builder), [&] {
    SQLite::Transaction transaction(connection.db(), SQLite::TransactionBehavior::IMMEDIATE);
    NumberingState state;
    state.builder_id = ensure_builder(connection, builder);
    const auto row = read_row(connection, state.builder_id);
    const bool free = !row || row->holder == holder ||
                      (row->holder.empty() && row->shared_at + kSharedQuietSeconds <= now) ||
                      (!row->holder.empty() && gone(row->holder));
    if (free) {
      write_row(connection, state.builder_id, holder, row ? row->shared_at : 0);
      state.numbering = Numbering::kHeld;
    } else if (row->holder.empty()) {
      state.numbering = Numbering::kShared;
    } else {
      ask_for(connection, state.builder_id);
      state.numbering = Numbering::kWaiting;
      state.other = row->holder;
    }
    state.last_number = last_number(connection, state.builder_id);
    transaction.commit();
    return state;
  });
}

std::optional<ClaimedBuild> claim_build(Connection& connection, const BuildClaim& claim,
                                        const HolderIsGone& gone, std::int64_t now,
                                        std::string& waiting_for) {
  const std::string what = "start a build of " + std::string(claim.builder);
  return guard_sql(what, [&]() -> std::optional<ClaimedBuild> {
    SQLite::Transaction transaction(connection.db(), SQLite::TransactionBehavior::IMMEDIATE);
    const auto row = read_row(connection, claim.builder_id);
    if (row && !row->holder.empty() && !gone(row->holder)) {
      ask_for(connection, claim.builder_id);
      transaction.commit();
      waiting_for = row->holder;
      return std::nullopt;
    }
    write_row(connection, claim.builder_id, "", now);
    const int last = last_number(connection, claim.builder_id);
    if (claim.number && *claim.number <= last) {
      throw Error(ErrorCode::kInvalidArgument,
                  what + ": its builds are numbered up to " + std::to_string(last) +
                      " already, so it cannot be number " + std::to_string(*claim.number));
    }
    ClaimedBuild claimed{0, claim.number.value_or(last + 1)};
    const BuildRecord& record = *claim.record;
    auto& insert = connection.statement(
        "INSERT INTO build (builder_id, number, worker, started_at, complete_at, "
        "state_string, results) VALUES (?, ?, ?, ?, NULL, ?, NULL)");
    insert.bind(1, static_cast<std::int64_t>(claim.builder_id));
    insert.bind(2, claimed.number);
    insert.bind(3, record.worker);
    insert.bind(4, static_cast<std::int64_t>(record.started_at));
    insert.bind(5, record.state_string);
    insert.exec();
    claimed.id = connection.db().getLastInsertRowid();
    for (const Property& property : *claim.properties) {
      auto& put = connection.statement(
          "INSERT INTO build_property (build_id, name, value, source) VALUES (?, ?, ?, ?)");
      put.bind(1, static_cast<std::int64_t>(claimed.id));
      put.bind(2, property.name);
      put.bind(3, property.value);
      put.bind(4, property.source);
      put.exec();
    }
    transaction.commit();
    return claimed;
  });
}

std::optional<std::string> share_numbering(Connection& connection, std::int64_t builder_id,
                                           const HolderIsGone& gone, std::int64_t now) {
  return guard_sql("share the numbering of a builder", [&]() -> std::optional<std::string> {
    const auto row = read_row(connection, builder_id);
    if (row && !row->holder.empty() && !gone(row->holder)) {
      ask_for(connection, builder_id);
      return row->holder;
    }
    write_row(connection, builder_id, "", now);
    return std::nullopt;
  });
}

std::optional<std::string> numbering_holder(Connection& connection, std::int64_t builder_id) {
  return guard_sql("read who numbers a builder", [&]() -> std::optional<std::string> {
    const auto row = read_row(connection, builder_id);
    if (!row) return std::nullopt;
    return row->holder;
  });
}

std::vector<std::int64_t> numbering_wanted(Connection& connection, const std::string& holder) {
  auto& query =
      connection.statement("SELECT builder_id FROM numbering WHERE holder = ? AND wanted = 1");
  query.bind(1, holder);
  std::vector<std::int64_t> wanted;
  while (query.executeStep()) wanted.push_back(query.getColumn(0).getInt64());
  return wanted;
}

void release_numbering(Connection& connection, std::int64_t builder_id,
                       const std::string& holder) {
  auto& update = connection.statement(
      "UPDATE numbering SET holder = '', wanted = 0, "
      "shared_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE builder_id = ? AND holder = ?");
  update.bind(1, static_cast<std::int64_t>(builder_id));
  update.bind(2, holder);
  update.exec();
}

void release_all_numbering(Connection& connection, const std::string& holder) {
  guard_sql("give back the numbering of builders", [&] {
    auto& remove = connection.statement("DELETE FROM numbering WHERE holder = ?");
    remove.bind(1, holder);
    remove.exec();
  });
}

}  // namespace buildhist::internal
