#include "sql/status_writer.h"

#include "util/json_text.h"
#include "util/log_codec.h"
#include "sql/connection.h"

namespace buildhist::internal {

namespace {

void bind_results(SQLite::Statement& statement, int index, const std::optional<Results>& results) {
  if (results) {
    statement.bind(index, static_cast<int>(*results));
  } else {
    statement.bind(index);
  }
}

struct Apply {
  Connection& connection;

  void operator()(const BuilderRowWrite& row) const {
    auto& upsert = connection.statement(
        "INSERT INTO builder (id, name) VALUES (?, ?) ON CONFLICT (id) DO NOTHING");
    upsert.bind(1, static_cast<std::int64_t>(row.id));
    upsert.bind(2, row.name);
    upsert.exec();
  }

  void operator()(const BuildRowWrite& row) const {
    auto& upsert = connection.statement(
        "INSERT INTO build (id, builder_id, number, worker, started_at, complete_at, "
        "state_string, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET worker = excluded.worker, "
        "started_at = excluded.started_at, complete_at = excluded.complete_at, "
        "state_string = excluded.state_string, results = excluded.results");
    upsert.bind(1, static_cast<std::int64_t>(row.id));
    upsert.bind(2, static_cast<std::int64_t>(row.builder_id));
    upsert.bind(3, row.record.number);
    upsert.bind(4, row.record.worker);
    upsert.bind(5, static_cast<std::int64_t>(row.record.started_at));
    bind_optional(upsert, 6, row.record.complete_at);
    upsert.bind(7, row.record.state_string);
    bind_results(upsert, 8, row.record.results);
    upsert.exec();
  }

  void operator()(const PropertyWrite& row) const {
    auto& upsert = connection.statement(
        "INSERT INTO build_property (build_id, name, value, source) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (build_id, name) DO UPDATE SET value = excluded.value, "
        "source = excluded.source");
    upsert.bind(1, static_cast<std::int64_t>(row.build_id));
    upsert.bind(2, row.property.name);
    upsert.bind(3, row.property.value);
    upsert.bind(4, row.property.source);
    upsert.exec();
  }

  void operator()(const StepRowWrite& row) const {
    auto& upsert = connection.statement(
        "INSERT INTO step (id, build_id, number, name, started_at, complete_at, state_string, "
        "results, urls, hidden) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, "
        "complete_at = excluded.complete_at, state_string = excluded.state_string, "
        "results = excluded.results, urls = excluded.urls, hidden = excluded.hidden");
    upsert.bind(1, static_cast<std::int64_t>(row.id));
    upsert.bind(2, static_cast<std::int64_t>(row.build_id));
    upsert.bind(3, row.record.number);
    upsert.bind(4, row.record.name);
    bind_optional(upsert, 5, row.record.started_at);
    bind_optional(upsert, 6, row.record.complete_at);
    upsert.bind(7, row.record.state_string);
    bind_results(upsert, 8, row.record.results);
    upsert.bind(9, urls_to_json(row.record.urls));
    upsert.bind(10, row.record.hidden ? 1 : 0);
    upsert.exec();
  }

  void operator()(const LogRowWrite& row) const {
    auto& upsert = connection.statement(
        "INSERT INTO log (id, step_id, slug, name, type, num_lines, complete) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET num_lines = excluded.num_lines, "
        "complete = excluded.complete");
    upsert.bind(1, static_cast<std::int64_t>(row.id));
    upsert.bind(2, static_cast<std::int64_t>(row.step_id));
    upsert.bind(3, row.record.slug);
    upsert.bind(4, row.record.name);
    const char type[2] = {static_cast<char>(row.record.type), '\0'};
    upsert.bind(5, type);
    upsert.bind(6, static_cast<std::int64_t>(row.record.num_lines));
    upsert.bind(7, row.record.complete ? 1 : 0);
    upsert.exec();
  }

  void operator()(const ChunkWrite& row) const {
    auto& insert = connection.statement(
        "INSERT INTO log_chunk (log_id, first_line, last_line, codec, raw_bytes, content) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, static_cast<std::int64_t>(row.log_id));
    insert.bind(2, static_cast<std::int64_t>(row.first_line));
    insert.bind(3, static_cast<std::int64_t>(row.last_line));
    insert.bind(4, static_cast<int>(ChunkCodec::kText));
    insert.bind(5, static_cast<std::int64_t>(row.text.size()));
    insert.bindNoCopy(6, row.text.data(), static_cast<int>(row.text.size()));
    insert.exec();
  }
};

}  // namespace

void apply_row_write(Connection& connection, const RowWrite& write) {
  std::visit(Apply{connection}, write);
}

}  // namespace buildhist::internal
