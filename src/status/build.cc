#include <algorithm>
#include <cassert>

#include "buildhist/error.h"
#include "buildhist/status.h"
#include "status/owner.h"
#include "status/shard_sync.h"
#include "util/input_rules.h"
#include "util/json_text.h"
#include "util/names.h"

namespace buildhist {

Build::Build(internal::StatusKey, std::shared_ptr<internal::ShardSync> sync,
             std::weak_ptr<internal::StatusOwner> owner, std::int64_t id, BuildRecord record,
             std::vector<Property> properties)
    : number_(record.number),
      sync_(std::move(sync)),
      owner_(std::move(owner)),
      id_(id),
      record_(std::move(record)),
      properties_(std::move(properties)) {
  sync_->live_builds.fetch_add(1, std::memory_order_relaxed);
}

Build::~Build() { sync_->live_builds.fetch_sub(1, std::memory_order_relaxed); }

BuildRecord Build::record() const {
  std::lock_guard lock(sync_->mu);
  return record_;
}

bool Build::complete() const {
  std::lock_guard lock(sync_->mu);
  return record_.complete_at.has_value();
}

std::vector<Property> Build::properties() const {
  std::lock_guard lock(sync_->mu);
  return properties_;
}

std::optional<std::string> Build::property(std::string_view name) const {
  std::lock_guard lock(sync_->mu);
  for (const Property& property : properties_) {
    if (property.name == name) return property.value;
  }
  return std::nullopt;
}

std::vector<std::shared_ptr<Step>> Build::steps() const {
  std::lock_guard lock(sync_->mu);
  return steps_;
}

std::shared_ptr<Step> Build::step(int number) const {
  std::lock_guard lock(sync_->mu);
  for (const auto& step : steps_) {
    if (step->number_ == number) return step;
  }
  return nullptr;
}

std::shared_ptr<Step> Build::step(std::string_view name) const {
  std::lock_guard lock(sync_->mu);
  return step_locked(name);
}

std::shared_ptr<Step> Build::step_locked(std::string_view name) const {
  const auto it = step_by_name_.find(name);
  return it == step_by_name_.end() ? nullptr : steps_[it->second];
}

void Build::push_step_locked(std::shared_ptr<Step> step) {
  step_by_name_.emplace(step->record_.name, steps_.size());
  steps_.push_back(std::move(step));
}

std::string Build::unique_step_name_locked(std::string_view name) {
  if (!step_by_name_.contains(name)) return std::string(name);
  auto it = next_suffix_.find(name);
  if (it == next_suffix_.end()) it = next_suffix_.emplace(std::string(name), 2).first;
  // Only a taken suffix is passed for good: when the step is then not added (its
  // write refused), the next one still gets the name it would have had.
  while (true) {
    const std::string suffix = "_" + std::to_string(it->second);
    // The suffixed name obeys the name rules too: a name near the length limit
    // gives up its tail, cut between UTF-8 sequences, to make room.
    std::string_view base = name.substr(0, kMaxNameBytes - suffix.size());
    const auto continues = [&](std::size_t at) {
      return at < name.size() && (static_cast<unsigned char>(name[at]) & 0xc0) == 0x80;
    };
    while (continues(base.size())) base.remove_suffix(1);
    std::string unique = std::string(base) + suffix;
    assert(!internal::name_problem(unique));
    if (!step_by_name_.contains(unique)) return unique;
    ++it->second;
  }
}

void Build::check_writable_locked(const char* what) const {
  if (record_.complete_at) {
    throw Error(ErrorCode::kFailedPrecondition, std::string(what) + " " + record_.builder + "/" +
                                                    std::to_string(record_.number) +
                                                    ": the build is finished");
  }
}

std::shared_ptr<Step> Build::add_step(std::string_view name,
                                      std::optional<std::int64_t> started_at,
                                      Durability durability) {
  // A step's name is part of its reference (BUILDER/NUMBER/STEP): the same rule
  // as a builder's, so that every step can be named on the command line.
  if (const auto problem = internal::name_problem(name)) {
    throw Error(ErrorCode::kInvalidArgument, "add a step to " + record_.builder + "/" +
                                                 std::to_string(record_.number) +
                                                 ": the step name " + *problem);
  }
  if (started_at) internal::require_time("add a step", "start time", *started_at);
  auto owner = internal::open_owner(owner_, "add a step");
  internal::Admission admission = owner->admit(1, 0);
  std::shared_ptr<Step> step;
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    check_writable_locked("add a step to");
    StepRecord record;
    record.number = steps_.empty() ? 0 : steps_.back()->number_ + 1;
    record.name = unique_step_name_locked(name);
    record.started_at = started_at;
    step = std::make_shared<Step>(internal::StatusKey(), sync_, owner_, 0, record_.number, record);
    step->build_ = weak_from_this();
    internal::RowWrite write = internal::StepRowWrite{&step->id_, &id_, std::move(record)};
    sequence = owner->enqueue_locked(admission, std::span(&write, 1), shared_from_this());
    push_step_locked(step);
    owner->add_step_locked(step);
  }
  owner->settle(sequence, durability);
  return step;
}

void Build::set_property(std::string_view name, std::string_view json_value,
                         std::string_view source, Durability durability) {
  const std::string key = record_.builder + "/" + std::to_string(record_.number);
  if (name.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "set a property of " + key + ": the property name is empty");
  }
  internal::require_bytes("set a property of " + key, "property name", name, kMaxNameBytes);
  internal::require_json("set property " + std::string(name) + " of " + key, "value", json_value);
  internal::require_bytes("set property " + std::string(name) + " of " + key, "source", source,
                          kMaxNameBytes);
  auto owner = internal::open_owner(owner_, "set a property");
  internal::Admission admission = owner->admit(1, 0);
  Property property{std::string(name), std::string(json_value), std::string(source)};
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    check_writable_locked("set a property of");
    internal::RowWrite write = internal::PropertyWrite{&id_, property};
    sequence = owner->enqueue_locked(admission, std::span(&write, 1), shared_from_this());
    auto it = std::lower_bound(properties_.begin(), properties_.end(), property.name,
                               [](const Property& p, const std::string& n) { return p.name < n; });
    if (it != properties_.end() && it->name == property.name) {
      *it = std::move(property);
    } else {
      properties_.insert(it, std::move(property));
    }
  }
  owner->settle(sequence, durability);
}

void Build::set_state_string(std::string_view state_string, Durability durability) {
  internal::require_text("set a build's state", "state string", state_string,
                         internal::kMaxTextBytes);
  update("set the state of", durability,
         [&](BuildRecord& record) { record.state_string = std::string(state_string); });
}

void Build::finish(Results results, std::int64_t complete_at, Durability durability) {
  internal::require_results("finish a build", results);
  internal::require_time("finish a build", "complete time", complete_at);
  update("finish", durability, [&](BuildRecord& record) {
    if (complete_at < record.started_at) {
      throw Error(ErrorCode::kInvalidArgument,
                  "finish " + record.builder + "/" + std::to_string(record.number) +
                      ": complete_at " + std::to_string(complete_at) +
                      " is before started_at " + std::to_string(record.started_at));
    }
    record.complete_at = complete_at;
    record.results = results;
  });
}

void Build::update(const char* what, Durability durability,
                   const std::function<void(BuildRecord&)>& change) {
  auto owner = internal::open_owner(owner_, what);
  internal::Admission admission = owner->admit(1, 0);
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(sync_->mu);
    check_writable_locked(what);
    BuildRecord changed = record_;
    change(changed);  // may throw: the record is untouched then
    internal::RowWrite write = internal::BuildRowWrite{&id_, sync_->builder_id, changed};
    sequence = owner->enqueue_locked(admission, std::span(&write, 1), shared_from_this());
    record_ = std::move(changed);
  }
  owner->settle(sequence, durability);
}

}  // namespace buildhist
