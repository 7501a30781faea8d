#include "sql/transfer_writer.h"

#include <cassert>

#include "util/json_text.h"

namespace buildhist::internal {

namespace {

std::int64_t returned_id(SQLite::Statement& insert) {
  insert.executeStep();
  const std::int64_t id = insert.getColumn(0).getInt64();
  insert.reset();
  return id;
}

}  // namespace

TransferWriter::TransferWriter(const std::string& path, std::chrono::milliseconds busy_timeout)
    : connection_(path, Connection::Mode::kReadWrite, busy_timeout, nullptr) {
  // Replacing a build deletes it first: the cascade takes everything under it.
  connection_.exec("PRAGMA foreign_keys = ON");
  connection_.exec("PRAGMA synchronous = NORMAL");
}

void TransferWriter::begin() {
  connection_.exec("BEGIN IMMEDIATE");
  in_transaction_ = true;
}

void TransferWriter::commit() {
  connection_.exec("COMMIT");
  in_transaction_ = false;
}

void TransferWriter::rollback() noexcept {
  if (!in_transaction_) return;
  in_transaction_ = false;
  connection_.reset_statements();
  try {
    connection_.exec("ROLLBACK");
  } catch (const Error&) {
    // SQLite rolled back already (an I/O error or a full disk does that).
  }
}

std::optional<std::int64_t> TransferWriter::find_builder(std::string_view name) {
  return guard_sql("find builder", [&]() -> std::optional<std::int64_t> {
    auto& select = connection_.statement("SELECT id FROM builder WHERE name = ?");
    select.bind(1, std::string(name));
    if (!select.executeStep()) return std::nullopt;
    const std::int64_t id = select.getColumn(0).getInt64();
    select.reset();
    return id;
  });
}

std::int64_t TransferWriter::builder_id(std::string_view name) {
  if (auto id = find_builder(name)) return *id;
  return guard_sql("insert builder", [&] {
    auto& insert = connection_.statement("INSERT INTO builder (name) VALUES (?) RETURNING id");
    insert.bind(1, std::string(name));
    return returned_id(insert);
  });
}

std::optional<std::string> TransferWriter::share_numbering(std::int64_t builder_id,
                                                           const HolderIsGone& gone,
                                                           std::int64_t now) {
  assert(in_transaction_);
  return internal::share_numbering(connection_, builder_id, gone, now);
}

std::optional<std::string> TransferWriter::numbering_holder(std::int64_t builder_id) {
  assert(!in_transaction_);
  return internal::numbering_holder(connection_, builder_id);
}

std::optional<int> TransferWriter::newest_number(std::int64_t builder_id) {
  return guard_sql("read newest build", [&]() -> std::optional<int> {
    auto& select = connection_.statement("SELECT max(number) FROM build WHERE builder_id = ?");
    select.bind(1, static_cast<std::int64_t>(builder_id));
    select.executeStep();
    std::optional<int> newest;
    if (!select.getColumn(0).isNull()) newest = select.getColumn(0).getInt();
    select.reset();
    return newest;
  });
}

std::vector<int> TransferWriter::unfinished_numbers(std::int64_t builder_id) {
  return guard_sql("read unfinished builds", [&] {
    auto& select = connection_.statement(
        "SELECT b.number FROM build b WHERE b.builder_id = ? AND (b.complete_at IS NULL OR "
        "EXISTS (SELECT 1 FROM step s JOIN log l ON l.step_id = s.id "
        "WHERE s.build_id = b.id AND l.complete = 0)) ORDER BY b.number");
    select.bind(1, static_cast<std::int64_t>(builder_id));
    std::vector<int> numbers;
    while (select.executeStep()) numbers.push_back(select.getColumn(0).getInt());
    return numbers;
  });
}

std::optional<std::int64_t> TransferWriter::build_id(std::int64_t builder_id, int number) {
  return guard_sql("find build", [&]() -> std::optional<std::int64_t> {
    auto& select =
        connection_.statement("SELECT id FROM build WHERE builder_id = ? AND number = ?");
    select.bind(1, static_cast<std::int64_t>(builder_id));
    select.bind(2, number);
    if (!select.executeStep()) return std::nullopt;
    const std::int64_t id = select.getColumn(0).getInt64();
    select.reset();
    return id;
  });
}

void TransferWriter::delete_build(std::int64_t build_id) {
  guard_sql("delete build", [&] {
    auto& remove = connection_.statement("DELETE FROM build WHERE id = ?");
    remove.bind(1, static_cast<std::int64_t>(build_id));
    remove.exec();
  });
}

std::int64_t TransferWriter::insert_build(std::int64_t builder_id, const BuildRecord& build) {
  return guard_sql("insert build " + std::to_string(build.number), [&] {
    auto& insert = connection_.statement(
        "INSERT INTO build (builder_id, number, worker, started_at, complete_at, state_string, "
        "results) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id");
    insert.bind(1, static_cast<std::int64_t>(builder_id));
    insert.bind(2, build.number);
    insert.bind(3, build.worker);
    insert.bind(4, static_cast<std::int64_t>(build.started_at));
    bind_optional(insert, 5, build.complete_at);
    insert.bind(6, build.state_string);
    bind_results(insert, 7, build.results);
    return returned_id(insert);
  });
}

void TransferWriter::insert_property(std::int64_t build_id, const Property& property) {
  guard_sql("insert property " + property.name, [&] {
    auto& insert = connection_.statement(
        "INSERT INTO build_property (build_id, name, value, source) VALUES (?, ?, ?, ?)");
    insert.bind(1, static_cast<std::int64_t>(build_id));
    insert.bind(2, property.name);
    insert.bind(3, property.value);
    insert.bind(4, property.source);
    insert.exec();
  });
}

std::int64_t TransferWriter::insert_step(std::int64_t build_id, const StepRecord& step) {
  return guard_sql("insert step " + step.name, [&] {
    auto& insert = connection_.statement(
        "INSERT INTO step (build_id, number, name, started_at, complete_at, state_string, "
        "results, urls, hidden) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    insert.bind(1, static_cast<std::int64_t>(build_id));
    insert.bind(2, step.number);
    insert.bind(3, step.name);
    bind_optional(insert, 4, step.started_at);
    bind_optional(insert, 5, step.complete_at);
    insert.bind(6, step.state_string);
    bind_results(insert, 7, step.results);
    insert.bind(8, urls_to_json(step.urls));
    insert.bind(9, step.hidden ? 1 : 0);
    return returned_id(insert);
  });
}

std::int64_t TransferWriter::insert_log(std::int64_t step_id, const LogRecord& log) {
  return guard_sql("insert log " + log.slug, [&] {
    auto& insert = connection_.statement(
        "INSERT INTO log (step_id, slug, name, type, num_lines, complete, purged_at) "
        "VALUES (?, ?, ?, ?, 0, 0, ?) RETURNING id");
    insert.bind(1, static_cast<std::int64_t>(step_id));
    insert.bind(2, log.slug);
    insert.bind(3, log.name);
    const char type[2] = {static_cast<char>(log.type), '\0'};
    insert.bind(4, type);
    bind_optional(insert, 5, log.purged_at);
    return returned_id(insert);
  });
}

void TransferWriter::insert_chunk(std::int64_t log_id, std::int64_t first_line,
                                  std::int64_t last_line, std::string_view text) {
  guard_sql("insert log chunk", [&] {
    auto& insert = connection_.statement(
        "INSERT INTO log_chunk (log_id, first_line, last_line, codec, raw_bytes, content) "
        "VALUES (?, ?, ?, 0, ?, ?)");
    insert.bind(1, static_cast<std::int64_t>(log_id));
    insert.bind(2, static_cast<std::int64_t>(first_line));
    insert.bind(3, static_cast<std::int64_t>(last_line));
    insert.bind(4, static_cast<std::int64_t>(text.size()));
    insert.bindNoCopy(5, text.data(), static_cast<int>(text.size()));
    insert.exec();
  });
}

void TransferWriter::finish_log(std::int64_t log_id, std::int64_t num_lines, bool complete) {
  guard_sql("finish log", [&] {
    auto& update = connection_.statement("UPDATE log SET num_lines = ?, complete = ? WHERE id = ?");
    update.bind(1, static_cast<std::int64_t>(num_lines));
    update.bind(2, complete ? 1 : 0);
    update.bind(3, static_cast<std::int64_t>(log_id));
    update.exec();
  });
}

}  // namespace buildhist::internal
