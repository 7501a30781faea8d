#include <algorithm>

#include "buildhist/error.h"
#include "buildhist/status.h"
#include "status/owner.h"
#include "status/shard_sync.h"
#include "util/input_rules.h"

namespace buildhist {

namespace {

// buildbot's identifier rule for log slugs: letters, digits, '_' and '-' stay,
// anything else becomes '_'; at most 50 characters.
std::string slug_for(std::string_view name) {
  std::string slug;
  for (const char c : name.substr(0, 50)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '-';
    slug.push_back(keep ? c : '_');
  }
  return slug;
}

}  // namespace

Step::Step(internal::StatusKey, std::shared_ptr<internal::ShardSync> sync,
           std::weak_ptr<internal::StatusOwner> owner, std::int64_t id, int build_number,
           StepRecord record)
    : sync_(std::move(sync)),
      owner_(std::move(owner)),
      id_(id),
      build_number_(build_number),
      number_(record.number),
      record_(std::move(record)) {
  sync_->live_steps.fetch_add(1, std::memory_order_relaxed);
}

Step::~Step() { sync_->live_steps.fetch_sub(1, std::memory_order_relaxed); }

const std::string& Step::builder() const noexcept { return sync_->builder; }

StepRecord Step::record() const {
  std::lock_guard lock(sync_->mu);
  return record_;
}

std::shared_ptr<Build> Step::build() const {
  {
    std::lock_guard lock(sync_->mu);
    if (auto build = build_.lock()) return build;
  }
  auto owner = internal::open_owner(owner_, "follow a step to its build");
  auto build = owner->get(build_number_, internal::StatusOwner::Via::kParentHandle);
  if (!build) {
    throw Error(ErrorCode::kNotFound, "build " + builder() + "/" + std::to_string(build_number_) +
                                          " of step " + std::to_string(number_) +
                                          " is no longer in the store");
  }
  return build;
}

std::vector<std::shared_ptr<Log>> Step::logs() const {
  std::lock_guard lock(sync_->mu);
  return logs_;
}

std::shared_ptr<Log> Step::log(std::string_view slug) const {
  std::lock_guard lock(sync_->mu);
  for (const auto& log : logs_) {
    if (log->slug_ == slug) return log;
  }
  return nullptr;
}

std::shared_ptr<Log> Step::add_log(std::string_view name, LogType type, Durability durability) {
  const std::string key =
      builder() + "/" + std::to_string(build_number_) + "/" + std::to_string(number_);
  internal::require_name("add a log to step " + key, "log name", name);
  if (type != LogType::kStdio && type != LogType::kText && type != LogType::kHtml) {
    throw Error(ErrorCode::kInvalidArgument,
                "add a log to step " + key + ": the type must be s, t or h");
  }
  auto build = this->build();
  auto owner = internal::open_owner(owner_, "add a log");
  internal::Admission admission = owner->admit(1, 0);
  std::shared_ptr<Log> log;
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    build->check_writable_locked("add a log to");
    const auto taken = [&](auto field) {
      return std::any_of(logs_.begin(), logs_.end(),
                         [&](const auto& existing) { return field(existing->record_); });
    };
    if (taken([&](const LogRecord& r) { return r.name == name; })) {
      throw Error(ErrorCode::kInvalidArgument, "add a log to step " + key +
                                                   ": it has a log named " + std::string(name));
    }
    const std::string base = slug_for(name);
    std::string slug = base;
    for (int suffix = 2; taken([&](const LogRecord& r) { return r.slug == slug; }); ++suffix) {
      slug = base + "_" + std::to_string(suffix);
    }
    LogRecord record;
    record.slug = std::move(slug);
    record.name = std::string(name);
    record.type = type;
    log = std::make_shared<Log>(internal::StatusKey(), sync_, owner_, 0, build_number_, number_,
                                record);
    log->step_ = weak_from_this();
    internal::RowWrite write = internal::LogRowWrite{&log->id_, &id_, std::move(record)};
    sequence = owner->enqueue_locked(admission, std::span(&write, 1), build);
    // Reading the log waits for its row (and so its id) to be committed.
    log->last_write_ = sequence;
    logs_.push_back(log);
    owner->add_log_locked(log);
  }
  owner->settle(sequence, durability);
  return log;
}

void Step::update(const char* what, Durability durability,
                  const std::function<void(StepRecord&)>& change) {
  auto build = this->build();
  auto owner = internal::open_owner(owner_, what);
  internal::Admission admission = owner->admit(1, 0);
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    build->check_writable_locked(what);
    StepRecord changed = record_;
    change(changed);  // may throw: the record is untouched then
    internal::RowWrite write = internal::StepRowWrite{&id_, &build->id_, changed};
    sequence = owner->enqueue_locked(admission, std::span(&write, 1), build);
    record_ = std::move(changed);
  }
  owner->settle(sequence, durability);
}

void Step::start(std::int64_t started_at, Durability durability) {
  internal::require_time("start a step", "start time", started_at);
  update("start a step of", durability, [&](StepRecord& record) { record.started_at = started_at; });
}

void Step::set_state_string(std::string_view state_string, Durability durability) {
  internal::require_text("set a step's state", "state string", state_string,
                         internal::kMaxTextBytes);
  update("set the state of a step of", durability,
         [&](StepRecord& record) { record.state_string = std::string(state_string); });
}

void Step::add_url(std::string_view name, std::string_view url, Durability durability) {
  internal::require_text("add a URL to a step", "URL name", name, internal::kMaxTextBytes);
  internal::require_text("add a URL to a step", "URL", url, internal::kMaxTextBytes);
  update("add a URL to a step of", durability, [&](StepRecord& record) {
    record.urls.push_back(Url{std::string(name), std::string(url)});
  });
}

void Step::set_hidden(bool hidden, Durability durability) {
  update("hide a step of", durability, [&](StepRecord& record) { record.hidden = hidden; });
}

void Step::finish(Results results, std::int64_t complete_at, Durability durability) {
  internal::require_results("finish a step", results);
  internal::require_time("finish a step", "complete time", complete_at);
  update("finish a step of", durability, [&](StepRecord& record) {
    const std::string key = builder() + "/" + std::to_string(build_number_) + "/" + record.name;
    if (record.complete_at) {
      throw Error(ErrorCode::kFailedPrecondition, "finish step " + key + ": it is finished");
    }
    if (record.started_at && complete_at < *record.started_at) {
      throw Error(ErrorCode::kInvalidArgument,
                  "finish step " + key + ": complete_at is before started_at");
    }
    record.complete_at = complete_at;
    record.results = results;
  });
}

}  // namespace buildhist
