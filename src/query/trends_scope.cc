#include "query/trends_scope.h"

#include <limits>

#include "buildhist/error.h"
#include "sql/history_reader.h"
#include "sql/status_reader.h"

namespace buildhist::internal {

TrendsScope::TrendsScope(Store& store, const std::vector<std::string>& builders,
                         std::optional<std::int64_t> since, std::optional<std::int64_t> until)
    : reader_(internal::StoreAccess::impl(store).reader()),
      since_(since.value_or(std::numeric_limits<std::int64_t>::min())),
      until_(until.value_or(std::numeric_limits<std::int64_t>::max())) {
  if (since_ >= until_) {
    throw Error(ErrorCode::kInvalidArgument, "the range is empty: since is not before until");
  }
  std::vector<std::string> names = builders;
  if (names.empty()) {
    list_builders(*reader_, [&](const BuilderSummary& summary) {
      names.push_back(summary.name);
      return true;
    });
  }
  for (const std::string& name : names) {
    const auto row = find_builder(*reader_, name);
    if (!row) throw Error(ErrorCode::kNotFound, "no builder named '" + name + "'");
    builders_.push_back(Builder{name, row->id});
  }
}

}  // namespace buildhist::internal
