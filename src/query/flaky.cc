// History::flaky: per builder, one walk of its step runs by build number (flips)
// and one of the runs of its repeated key values (same-key failures and passes).
// What is kept meanwhile is one state per step name, and the runs of one key
// value: never the history.
#include <algorithm>
#include <deque>
#include <map>

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

FlakyEvidence evidence_of(const std::string& builder, const internal::StepRun& run,
                          FlakyEvidence::Kind kind) {
  Reference reference{builder, run.number, StepSelector{std::nullopt, std::string(run.step)}, {}};
  return FlakyEvidence{format_reference(reference), run.results,
                       kind == FlakyEvidence::Kind::kSameKey ? std::string(run.key_value) : "",
                       kind};
}

// One step's figures while its builder's runs are read.
struct StepState {
  std::int64_t runs = 0;
  std::int64_t failures = 0;
  std::int64_t flips = 0;
  std::optional<bool> last_failed;
  std::deque<FlakyEvidence> latest_flips;  // at most the query's evidence
  std::int64_t same_key_values = 0;
  std::vector<FlakyEvidence> same_key;     // at most the query's evidence
};

// The runs of one key value, by step, until the value changes.
struct ValueRuns {
  bool passed = false;
  bool failed = false;
  std::vector<FlakyEvidence> runs;  // at most the query's evidence
};

class BuilderFlakes {
 public:
  BuilderFlakes(const std::string& builder, const FlakyQuery& query)
      : builder_(builder), query_(query) {}

  void add_run(const internal::StepRun& run) {
    StepState& state = steps_[std::string(run.step)];
    const bool now_failed = failed(run.results);
    ++state.runs;
    if (now_failed) ++state.failures;
    if (state.last_failed && *state.last_failed != now_failed) {
      ++state.flips;
      state.latest_flips.push_back(evidence_of(builder_, run, FlakyEvidence::Kind::kFlip));
      if (state.latest_flips.size() > evidence_cap()) state.latest_flips.pop_front();
    }
    state.last_failed = now_failed;
  }

  void add_keyed_run(const internal::StepRun& run) {
    if (run.key_value != value_) {
      end_value();
      value_ = std::string(run.key_value);
    }
    ValueRuns& runs = value_runs_[std::string(run.step)];
    (failed(run.results) ? runs.failed : runs.passed) = true;
    if (runs.runs.size() < evidence_cap()) {
      runs.runs.push_back(evidence_of(builder_, run, FlakyEvidence::Kind::kSameKey));
    }
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
        const bool listed = std::any_of(step.evidence.begin(), end, [&](const FlakyEvidence& e) {
          return e.reference == flip->reference;
        });
        if (!listed) step.evidence.push_back(std::move(*flip));
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
      for (auto& run : runs.runs) {
        if (state.same_key.size() >= evidence_cap()) break;
        state.same_key.push_back(std::move(run));
      }
    }
    value_runs_.clear();
  }

  const std::string& builder_;
  const FlakyQuery& query_;
  std::map<std::string, StepState> steps_;
  std::string value_;
  std::map<std::string, ValueRuns> value_runs_;
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
  // One entry per flaky step, to rank them: bounded by the builders' step names.
  std::vector<FlakyStep> found;
  for (const auto& builder : scope.builders()) {
    BuilderFlakes flakes(builder.name, query);
    const internal::BuildRange range = scope.range(builder);
    internal::read_step_runs(scope.connection(), range,
                             [&](const internal::StepRun& run) { flakes.add_run(run); });
    internal::read_keyed_runs(scope.connection(), range, query.key,
                              [&](const internal::StepRun& run) { flakes.add_keyed_run(run); });
    flakes.finish(found);
  }
  std::sort(found.begin(), found.end(), more_flaky);
  for (const FlakyStep& step : found) {
    if (!sink(step)) return;
  }
}

}  // namespace buildhist
