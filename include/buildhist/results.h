// buildhist: build and step results, with buildbot's names and codes.
#ifndef BUILDHIST_RESULTS_H_
#define BUILDHIST_RESULTS_H_

#include <optional>
#include <string_view>

namespace buildhist {

enum class Results : int {
  kSuccess = 0,
  kWarnings = 1,
  kFailure = 2,
  kSkipped = 3,
  kException = 4,
  kRetry = 5,
  kCancelled = 6,
};

// "success", "warnings", ... as buildbot names them.
std::string_view results_name(Results results) noexcept;

// The Results for a buildbot code; throws Error(kInvalidArgument) for any other code.
Results results_from_code(int code);

// The Results for a name ("failure"); std::nullopt when the name is unknown.
std::optional<Results> results_from_name(std::string_view name) noexcept;

}  // namespace buildhist

#endif  // BUILDHIST_RESULTS_H_
