#include "store/store_impl.h"

#include <filesystem>

#include "buildhist/error.h"
#include "cache/shard.h"
#include "sql/migrations.h"
#include "sql/status_reader.h"
#include "store/write_queue.h"

namespace buildhist::internal {

namespace {

// What the store on disk says before anything is changed: its schema (nullopt for
// a new or empty file) and the read-only connection that read it (none for a new
// file).
struct Probe {
  std::optional<SchemaInfo> info;
  std::unique_ptr<Connection> connection;
};

Probe probe_existing(const std::string& path, const Options& options,
                     std::atomic<std::uint64_t>* counter) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    throw Error(ErrorCode::kIO, path + ": is a directory, not a buildhist store");
  }
  if (!std::filesystem::exists(status)) {
    if (options.read_only || !options.create_if_missing) {
      throw Error(ErrorCode::kIO, path + ": no such store");
    }
    return {};
  }
  // Read-only, so that a store we must refuse is left byte-for-byte untouched.
  Probe probe;
  probe.connection =
      std::make_unique<Connection>(path, Connection::Mode::kReadOnly, options.busy_timeout, counter);
  probe.info = read_schema_info(*probe.connection);
  if (probe.info) check_compatible(*probe.info, path);
  probe.connection->reset_statements();
  return probe;
}

void configure_writer(Connection& connection, const Options& options) {
  connection.exec("PRAGMA journal_mode = WAL");
  connection.exec("PRAGMA foreign_keys = ON");
  // Checkpoints reset the WAL but do not shrink it: after one large transaction,
  // give the space back down to this size.
  connection.exec("PRAGMA journal_size_limit = 67108864");
  connection.exec(options.sync == Sync::kPowerLoss ? "PRAGMA synchronous = FULL"
                                                   : "PRAGMA synchronous = NORMAL");
}

}  // namespace

StoreImpl::StoreImpl(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)) {
  Probe probe = probe_existing(path_, options_, &statements_);
  const std::optional<SchemaInfo>& info = probe.info;
  if (options_.read_only) {
    if (!info) throw Error(ErrorCode::kCorrupt, path_ + ": an empty file, not a buildhist store");
    if (info->version < kMigrationCount) {
      throw Error(ErrorCode::kFailedPrecondition,
                  path_ + ": schema version " + std::to_string(info->version) +
                      " is older than this buildhist's " + std::to_string(kMigrationCount) +
                      "; open it once for writing to upgrade it");
    }
    // The probe's connection serves as the first reader: a query command opens the
    // file once, not twice (each open of a WAL store maps and locks its -shm).
    idle_readers_.push_back(std::move(probe.connection));
    return;
  }
  auto writer = std::make_unique<Connection>(path_, Connection::Mode::kCreate,
                                             options_.busy_timeout, &statements_);
  guard_sql("configure " + path_, [&] {
    // Set while the file is still empty (before WAL mode writes its first page):
    // compact then gives freed pages back in short steps, never rewriting the
    // whole store under its lock.
    if (!info) writer->exec("PRAGMA auto_vacuum = INCREMENTAL");
    configure_writer(*writer, options_);
  });
  if (!info || info->version < kMigrationCount) migrate(*writer);
  const MaxIds ids = max_ids(*writer);
  last_ids_[static_cast<int>(IdKind::kBuilder)] = ids.builder;
  last_ids_[static_cast<int>(IdKind::kBuild)] = ids.build;
  last_ids_[static_cast<int>(IdKind::kStep)] = ids.step;
  last_ids_[static_cast<int>(IdKind::kLog)] = ids.log;
  // The reads above leave their statements mid-result, and such a statement keeps a
  // read snapshot open that no checkpoint can copy a page past: the WAL would grow
  // by every byte written. The writer only writes from here on.
  writer->reset_statements();
  writes_ = std::make_unique<WriteQueue>(std::move(writer), options_.max_batch);
}

StoreImpl::~StoreImpl() {
  try {
    close();
  } catch (...) {
    // A destructor never throws; flush() before closing reports writer failures.
  }
}

StoreImpl::ReaderLease::~ReaderLease() {
  if (connection_) store_->return_reader(std::move(connection_));
}

StoreImpl::ReaderLease StoreImpl::reader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(*this, std::move(connection));
    }
  }
  auto connection = std::make_unique<Connection>(path_, Connection::Mode::kReadOnly,
                                                 options_.busy_timeout, &statements_);
  return ReaderLease(*this, std::move(connection));
}

void StoreImpl::return_reader(std::unique_ptr<Connection> connection) {
  connection->reset_statements();
  std::lock_guard lock(readers_mu_);
  if (idle_readers_.size() < options_.max_idle_readers) {
    idle_readers_.push_back(std::move(connection));
  }
}

WriteQueue& StoreImpl::writes() {
  if (!writes_) {
    throw Error(ErrorCode::kFailedPrecondition, path_ + ": the store is open read-only");
  }
  return *writes_;
}

std::shared_ptr<Shard> StoreImpl::shard(std::string_view builder, bool create) {
  {
    std::shared_lock lock(shards_mu_);
    if (closed_) throw Error(ErrorCode::kClosed, path_ + ": the store is closed");
    if (const auto it = shards_.find(builder); it != shards_.end()) return it->second;
  }
  std::lock_guard lock(shards_mu_);
  if (closed_) throw Error(ErrorCode::kClosed, path_ + ": the store is closed");
  if (const auto it = shards_.find(builder); it != shards_.end()) return it->second;
  std::optional<BuilderRow> row;
  {
    auto connection = reader();
    row = find_builder(*connection, builder);
  }
  if (!row) {
    if (!create) return nullptr;
    const std::int64_t id = next_id(IdKind::kBuilder);
    writes().submit(BuilderRowWrite{id, std::string(builder)}, nullptr);
    row = BuilderRow{id, 0};
  }
  auto shard = std::make_shared<Shard>(*this, std::string(builder), row->id, row->last_number,
                                       options_.cache_capacity);
  shards_.emplace(std::string(builder), shard);
  return shard;
}

std::int64_t StoreImpl::next_id(IdKind kind) noexcept {
  return last_ids_[static_cast<int>(kind)].fetch_add(1, std::memory_order_relaxed) + 1;
}

CacheStats StoreImpl::stats() const {
  CacheStats stats;
  for (const auto& shard : shards()) shard->add_stats(stats);
  stats.sql_statements = statements_.load(std::memory_order_relaxed);
  if (writes_) {
    stats.commits = writes_->commits();
    stats.writes = writes_->writes();
  }
  return stats;
}

std::vector<std::shared_ptr<Shard>> StoreImpl::shards() const {
  std::shared_lock lock(shards_mu_);
  std::vector<std::shared_ptr<Shard>> all;
  all.reserve(shards_.size());
  for (const auto& [name, shard] : shards_) all.push_back(shard);
  return all;
}

void StoreImpl::close() {
  decltype(shards_) shards;
  {
    std::lock_guard lock(shards_mu_);
    if (closed_) return;
    closed_ = true;
  }
  {
    // Idle readers go first, so that the writer's connection is the last one and
    // checkpoints the WAL as it closes.
    std::lock_guard lock(readers_mu_);
    idle_readers_.clear();
  }
  if (writes_) writes_->stop();  // commits everything queued first
  {
    std::lock_guard lock(shards_mu_);
    shards.swap(shards_);
  }
  for (const auto& [name, shard] : shards) {
    // Freed here, outside the shard's mutex.
    auto released = shard->release_resident();
  }
}

}  // namespace buildhist::internal
