// History::flaky: per builder, one walk of its step runs by build number (flips)
// and one of the runs of its repeated key values (same-key failures and passes).
// What is kept meanwhile is one state per step name, and the runs of one key
// value: never the history.
#include <algorithm>
#include <deque>
#include <map>
#include <memory>

#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/reference.h"
#include "query/trends_scope.h"
#include "sql/trends_reader.h"

namespace buildhist {

namespace {

bool failed(Results results) {
  return results == Results::kFailure || results == Results::kException;
}

// A run kept as evidence, made a FlakyEvidence (a formatted reference) only if it
// is reported: most runs read are not.
struct KeptRun {
  int number = 0;
  Results results = Results::kSuccess;
};

FlakyEvidence evidence_of(const std::string& builder, const std::string& step, KeptRun run,
                          FlakyEvidence::Kind kind, const std::string& key_value) {
  Reference reference{builder, run.number, StepSelector{std::nullopt, step}, {}};
  return FlakyEvidence{format_reference(reference), run.results,
                       kind == FlakyEvidence::Kind::kSameKey ? key_value : "", kind};
}

// One step's figures while its builder's runs are read.
struct StepState {
  std::int64_t runs = 0;
  std::int64_t failures = 0;
  std::int64_t flips = 0;
  std::optional<bool> last_failed;
  std::deque<KeptRun> latest_flips;  // at most the query's evidence
  std::int64_t same_key_values = 0;
  std::vector<FlakyEvidence> same_key;     // at most the query's evidence
};

// The runs of one key value, by step, until the value changes.
struct ValueRuns {
  bool passed = false;
  bool failed = false;
  std::vector<KeptRun> runs;  // at most the query's evidence
};

class BuilderFlakes {
 public:
  BuilderFlakes(const std::string& builder, const FlakyQuery& query)
      : builder_(builder), query_(query) {}

  void add_run(const internal::StepRun& run) {
    auto found = steps_.find(run.step);
    if (found == steps_.end()) found = steps_.emplace(std::string(run.step), StepState{}).first;
    StepState& state = found->second;
    const bool now_failed = failed(run.results);
    ++state.runs;
    if (now_failed) ++state.failures;
    if (state.last_failed && *state.last_failed != now_failed) {
      ++state.flips;
      state.latest_flips.push_back(KeptRun{run.number, run.results});
      if (state.latest_flips.size() > evidence_cap()) state.latest_flips.pop_front();
    }
    state.last_failed = now_failed;
  }

  void add_keyed_run(const internal::StepRun& run) {
    if (run.key_value != value_) {
      end_value();
      value_ = std::string(run.key_value);
    }
    auto found = value_runs_.find(run.step);
    if (found == value_runs_.end()) {
      found = value_runs_.emplace(std::string(run.step), ValueRuns{}).first;
    }
    ValueRuns& runs = found->second;
    (failed(run.results) ? runs.failed : runs.passed) = true;
    if (runs.runs.size() < evidence_cap()) runs.runs.push_back(KeptRun{run.number, run.results});
  }

  // The builder's flaky steps, appended to `out`.
  void finish(std::vector<FlakyStep>& out) {
    end_value();
    for (auto& [name, state] : steps_) {
      FlakyStep step{builder_, name, state.runs, state.failures, state.flips, 0.0,
                     state.same_key_values, {}};
      if (state.runs > 1) {
        step.flip_rate = static_cast<double>(state.flips) / static_cast<double>(state.runs - 1);
      }
      if (step.same_key_values == 0 && (state.flips == 0 || step.flip_rate < query_.min_flip_rate)) {
        continue;
      }
      step.evidence = std::move(state.same_key);
      const std::size_t same_key = step.evidence.size();
      for (auto flip = state.latest_flips.rbegin();
           flip != state.latest_flips.rend() && step.evidence.size() < evidence_cap(); ++flip) {
        const auto end = step.evidence.begin() + static_cast<std::ptrdiff_t>(same_key);
        FlakyEvidence evidence =
            evidence_of(builder_, name, *flip, FlakyEvidence::Kind::kFlip, std::string());
        const bool listed = std::any_of(step.evidence.begin(), end, [&](const FlakyEvidence& e) {
          return e.reference == evidence.reference;
        });
        if (!listed) step.evidence.push_back(std::move(evidence));
      }
      out.push_back(std::move(step));
    }
  }

 private:
  std::size_t evidence_cap() const { return static_cast<std::size_t>(query_.evidence); }

  void end_value() {
    for (auto& [name, runs] : value_runs_) {
      if (!runs.passed || !runs.failed) continue;
      StepState& state = steps_[name];
      ++state.same_key_values;
      for (const KeptRun& run : runs.runs) {
        if (state.same_key.size() >= evidence_cap()) break;
        state.same_key.push_back(
            evidence_of(builder_, name, run, FlakyEvidence::Kind::kSameKey, value_));
      }
    }
    value_runs_.clear();
  }

  const std::string& builder_;
  const FlakyQuery& query_;
  std::map<std::string, StepState, std::less<>> steps_;
  std::string value_;
  std::map<std::string, ValueRuns, std::less<>> value_runs_;
};

bool more_flaky(const FlakyStep& a, const FlakyStep& b) {
  if (a.same_key_values != b.same_key_values) return a.same_key_values > b.same_key_values;
  if (a.flip_rate != b.flip_rate) return a.flip_rate > b.flip_rate;
  if (a.builder != b.builder) return a.builder < b.builder;
  return a.step < b.step;
}

}  // namespace

void History::flaky(const FlakyQuery& query, const std::function<bool(const FlakyStep&)>& sink) {
  if (query.key.empty()) throw Error(ErrorCode::kInvalidArgument, "a property name is empty");
  if (!(query.min_flip_rate >= 0.0 && query.min_flip_rate <= 1.0)) {
    throw Error(ErrorCode::kInvalidArgument, "a flip rate is between 0 and 1");
  }
  if (query.evidence < 1) {
    throw Error(ErrorCode::kInvalidArgument, "a flaky step has at least 1 piece of evidence");
  }
  internal::TrendsScope scope(store_, query.builders, query.since, query.until);
  const auto& builders = scope.builders();
  std::vector<std::unique_ptr<BuilderFlakes>> flakes;
  for (const auto& builder : builders) {
    flakes.push_back(std::make_unique<BuilderFlakes>(builder.name, query));
  }
  // Flips need each builder's runs by build number. With several builders, one walk
  // of the builds in the order they were written reads each page once (a walk per
  // builder reads nearly every page, since builders' builds are interleaved); it
  // gives each builder's builds by number as long as they were written in that
  // order, which is checked: a builder whose numbers go back is read again by
  // itself.
  std::vector<bool> read_again(builders.size(), builders.size() == 1);
  if (builders.size() > 1) {
    std::map<std::int64_t, std::vector<std::size_t>> by_id;  // a builder may be named twice
    for (std::size_t i = 0; i < builders.size(); ++i) by_id[builders[i].id].push_back(i);
    std::vector<int> last_number(builders.size(), 0);
    const internal::BuildRange any = scope.range(builders.front());
    internal::read_every_step_run(
        scope.connection(), any.since, any.until,
        [&](std::int64_t builder_id, const internal::StepRun& run) {
          const auto found = by_id.find(builder_id);
          if (found == by_id.end()) return;
          for (const std::size_t i : found->second) {
            if (read_again[i]) continue;
            // Equal numbers: the same build's steps.
            if (run.number < last_number[i]) {
              read_again[i] = true;
              continue;
            }
            last_number[i] = run.number;
            flakes[i]->add_run(run);
          }
        });
  }
  // One entry per flaky step, to rank them: bounded by the builders' step names.
  std::vector<FlakyStep> found;
  for (std::size_t i = 0; i < builders.size(); ++i) {
    const internal::BuildRange range = scope.range(builders[i]);
    if (read_again[i]) {
      flakes[i] = std::make_unique<BuilderFlakes>(builders[i].name, query);
      BuilderFlakes& builder = *flakes[i];
      internal::read_step_runs(scope.connection(), range,
                               [&](const internal::StepRun& run) { builder.add_run(run); });
    }
    BuilderFlakes& builder = *flakes[i];
    internal::read_keyed_runs(scope.connection(), range, query.key,
                              [&](const internal::StepRun& run) { builder.add_keyed_run(run); });
    builder.finish(found);
    flakes[i].reset();
  }
  std::sort(found.begin(), found.end(), more_flaky);
  for (const FlakyStep& step : found) {
    if (!sink(step)) return;
  }
}

}  // namespace buildhist
