// What trends and flaky share: the reader connection they run on (the one place
// this code asks the store for one), the builders a query names, resolved to ids
// (all of them, by name, when it names none), and the time range checked.
#ifndef BUILDHIST_QUERY_TRENDS_SCOPE_H_
#define BUILDHIST_QUERY_TRENDS_SCOPE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "buildhist/store.h"
#include "sql/trends_reader.h"
#include "store/store_access.h"

namespace buildhist::internal {

class TrendsScope {
 public:
  struct Builder {
    std::string name;
    std::int64_t id = 0;
  };

  // Throws Error(kNotFound) for a builder that does not exist, kInvalidArgument
  // when since >= until. Borrows `store` for its lifetime.
  TrendsScope(Store& store, const std::vector<std::string>& builders,
              std::optional<std::int64_t> since, std::optional<std::int64_t> until);

  const std::vector<Builder>& builders() const noexcept { return builders_; }
  BuildRange range(const Builder& builder) const noexcept {
    return BuildRange{builder.id, since_, until_};
  }
  Connection& connection() const noexcept { return *reader_; }

 private:
  decltype(std::declval<StoreImpl&>().reader()) reader_;
  std::vector<Builder> builders_;
  std::int64_t since_;
  std::int64_t until_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_QUERY_TRENDS_SCOPE_H_
