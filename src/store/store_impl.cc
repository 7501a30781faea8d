#include "store/store_impl.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>

#include "buildhist/error.h"
#include "cache/shard.h"
#include "sql/migrations.h"
#include "sql/numbering.h"
#include "sql/status_reader.h"
#include "store/handover.h"
#include "store/process_token.h"
#include "store/write_queue.h"
#include "util/file_access.h"

namespace buildhist::internal {

namespace {

// What the store on disk says before anything is changed: its schema (nullopt for
// a new or empty file) and the read-only connection that read it (none for a new
// file).
struct Probe {
  std::optional<SchemaInfo> info;
  std::unique_ptr<Connection> connection;
};

// How readers open the store. A WAL store in a place nobody can write, closed
// cleanly (no -wal file), is read as immutable: SQLite could create no -shm file
// there, and nothing can change it. Elsewhere (a -wal file exists, so a writer
// may be active) readers share the WAL index as usual.
Connection::Mode reader_mode(const std::string& path, const Options& options) {
  if (!options.read_only) return Connection::Mode::kReadOnly;
  std::error_code ec;
  const bool has_wal = std::filesystem::exists(path + "-wal", ec);
  if (!has_wal && unwritable_reason(path)) return Connection::Mode::kImmutable;
  return Connection::Mode::kReadOnly;
}

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
  probe.connection = std::make_unique<Connection>(path, reader_mode(path, options),
                                                  options.busy_timeout, counter);
  probe.info = read_schema_info(*probe.connection);
  if (probe.info) check_compatible(*probe.info, path);
  probe.connection->reset_statements();
  return probe;
}

std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

StoreImpl::StoreImpl(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)), holder_(new_process_token()) {
  if (!options_.read_only) {
    if (const auto reason = unwritable_reason(path_)) {
      std::error_code ec;
      if (!std::filesystem::exists(path_, ec)) {
        throw Error(ErrorCode::kIO, path_ + ": cannot create the store: " + *reason);
      }
      throw Error(ErrorCode::kIO, path_ + ": cannot open the store for writing: " + *reason +
                                      " (queries can still read it)");
    }
  }
  Probe probe = probe_existing(path_, options_, &statements_);
  const std::optional<SchemaInfo>& info = probe.info;
  readers_ = std::make_unique<ReaderPool>(path_, reader_mode(path_, options_),
                                          options_.busy_timeout, options_.max_idle_readers,
                                          &statements_);
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
    readers_->give(std::move(probe.connection));
    return;
  }
  auto writer = std::make_unique<Connection>(path_, Connection::Mode::kCreate,
                                             options_.busy_timeout, &statements_);
  configure_writer(*writer, options_.sync, !info);
  if (!info || info->version < kMigrationCount) migrate(*writer);
  writer->reset_statements();
  numbering_connection_ = std::make_unique<Connection>(path_, Connection::Mode::kReadWrite,
                                                       options_.busy_timeout, &statements_);
  configure_writer(*numbering_connection_, options_.sync, false);
  WriteQueue::Config config;
  config.max_batch = options_.max_batch;
  config.max_batch_bytes = options_.max_batch_bytes;
  config.holder = holder_;
  writes_ = std::make_unique<WriteQueue>(
      std::move(writer), config,
      [this](const std::vector<std::int64_t>& builder_ids) { hand_over(builder_ids); });
}

StoreImpl::~StoreImpl() {
  try {
    close();
  } catch (...) {
    // A destructor never throws; flush() before closing reports writer failures.
  }
}

ReaderPool::Lease StoreImpl::reader() { return readers_->take(); }

WriteQueue& StoreImpl::writes() const {
  if (!writes_) {
    throw Error(ErrorCode::kFailedPrecondition,
                path_ + ": the store is open read-only; writes are refused");
  }
  return *writes_;
}

void StoreImpl::check_writable() const {
  writes();
  std::shared_lock lock(shards_mu_);
  if (closed_) throw Error(ErrorCode::kClosed, path_ + ": the store is closed");
}

Admission StoreImpl::admit(std::size_t writes_wanted, std::size_t bytes) {
  return writes().admit(writes_wanted, bytes);
}

std::uint64_t StoreImpl::enqueue(Admission& admission, std::span<RowWrite> rows,
                                 const std::shared_ptr<const void>& pin) {
  return writes().enqueue(admission, rows, pin);
}

void StoreImpl::wait(std::uint64_t sequence) { writes().wait(sequence); }

std::uint64_t StoreImpl::enqueue_control(RowWrite write) {
  return writes().enqueue_control(std::move(write));
}

void StoreImpl::flush() {
  if (writes_) writes_->flush();
}

NumberingState StoreImpl::acquire_numbering(std::string_view builder) {
  writes();  // refuses a read-only store
  for (;;) {
    NumberingState state;
    {
      std::lock_guard lock(numbering_mu_);
      state = internal::acquire_numbering(*numbering_connection_, builder, holder_,
                                          process_is_gone, now_seconds());
      numbering_connection_->reset_statements();
    }
    if (state.numbering == Numbering::kHeld) writes_->watch_numbering();
    if (state.numbering != Numbering::kWaiting) return state;
    wait_for_handover(builder, state.builder_id, state.other);
  }
}

ClaimedBuild StoreImpl::claim_build(const BuildClaim& claim) {
  writes();
  for (;;) {
    std::string waiting_for;
    std::optional<ClaimedBuild> claimed;
    {
      std::lock_guard lock(numbering_mu_);
      claimed = internal::claim_build(*numbering_connection_, claim, process_is_gone,
                                      now_seconds(), waiting_for);
      numbering_connection_->reset_statements();
    }
    if (claimed) return *claimed;
    wait_for_handover(claim.builder, claim.builder_id, waiting_for);
  }
}

void StoreImpl::wait_for_handover(std::string_view builder, std::int64_t builder_id,
                                  const std::string& holder) {
  const auto read_holder = [&] {
    auto connection = reader();
    return numbering_holder(*connection, builder_id);
  };
  internal::wait_for_handover(read_holder, holder, options_.busy_timeout,
                              "start a build of " + std::string(builder) + " in " + path_);
}

void StoreImpl::hand_over(const std::vector<std::int64_t>& builder_ids) {
  for (const auto& shard : shards()) {
    if (std::find(builder_ids.begin(), builder_ids.end(), shard->builder_id()) !=
        builder_ids.end()) {
      shard->hand_over_numbering(holder_);
    }
  }
}

std::shared_ptr<Shard> StoreImpl::shard(std::string_view builder, bool create) {
  std::shared_future<std::shared_ptr<Shard>> pending;
  std::optional<std::promise<std::shared_ptr<Shard>>> mine;
  {
    std::shared_lock lock(shards_mu_);
    if (closed_) throw Error(ErrorCode::kClosed, path_ + ": the store is closed");
    if (const auto it = shards_.find(builder); it != shards_.end()) return it->second;
  }
  {
    std::lock_guard lock(shards_mu_);
    if (closed_) throw Error(ErrorCode::kClosed, path_ + ": the store is closed");
    if (const auto it = shards_.find(builder); it != shards_.end()) return it->second;
    if (const auto it = opening_.find(builder); it != opening_.end()) {
      pending = it->second;
    } else {
      opening_.emplace(std::string(builder), mine.emplace().get_future().share());
    }
  }
  if (pending.valid()) {
    auto opened = pending.get();
    // A lookup found no such builder; one that creates it opens the shard itself.
    if (opened || !create) return opened;
    return shard(builder, create);
  }
  std::shared_ptr<Shard> opened;
  try {
    opened = open_shard(builder, create);
  } catch (...) {
    {
      std::lock_guard lock(shards_mu_);
      opening_.erase(opening_.find(builder));
    }
    mine->set_exception(std::current_exception());
    throw;
  }
  {
    std::lock_guard lock(shards_mu_);
    if (opened) shards_.emplace(std::string(builder), opened);
    opening_.erase(opening_.find(builder));
  }
  mine->set_value(opened);
  return opened;
}

std::shared_ptr<Shard> StoreImpl::open_shard(std::string_view builder, bool create) {
  if (create) {
    const NumberingState state = acquire_numbering(builder);
    return std::make_shared<Shard>(*this, std::string(builder), state.builder_id,
                                   state.last_number, state.numbering, options_.cache_capacity);
  }
  std::optional<BuilderRow> row;
  {
    auto connection = reader();
    row = find_builder(*connection, builder);
  }
  if (!row) return nullptr;
  return std::make_shared<Shard>(*this, std::string(builder), row->id, row->last_number,
                                 std::nullopt, options_.cache_capacity);
}

CacheStats StoreImpl::stats() const {
  CacheStats stats;
  for (const auto& shard : shards()) shard->add_stats(stats);
  stats.sql_statements = statements_.load(std::memory_order_relaxed);
  if (writes_) {
    stats.commits = writes_->commits();
    stats.writes = writes_->writes();
    stats.busy_retries = writes_->busy_retries();
    stats.queued_writes = writes_->queued();
    stats.queued_bytes = writes_->queued_bytes();
    stats.admission_waits = writes_->admission_waits();
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
  // Idle readers go first, so that the writer's connection is the last one and
  // checkpoints the WAL as it closes.
  readers_->clear();
  {
    std::lock_guard lock(numbering_mu_);
    numbering_connection_.reset();
  }
  if (writes_) {
    // Commits everything queued first, then gives back what this store numbered.
    writes_->stop([this](Connection& connection) { release_all_numbering(connection, holder_); });
  }
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
