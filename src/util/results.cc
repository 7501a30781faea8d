#include "buildhist/results.h"

#include <array>
#include <string>

#include "buildhist/error.h"

namespace buildhist {

namespace {

constexpr std::array<std::string_view, 7> kNames = {
    "success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"};

}  // namespace

std::string_view results_name(Results results) noexcept {
  const auto code = static_cast<std::size_t>(results);
  return code < kNames.size() ? kNames[code] : std::string_view("unknown");
}

Results results_from_code(int code) {
  if (code < 0 || code >= static_cast<int>(kNames.size())) {
    throw Error(ErrorCode::kInvalidArgument,
                "unknown results code " + std::to_string(code) + " (buildbot's codes are 0 to 6)");
  }
  return static_cast<Results>(code);
}

std::optional<Results> results_from_name(std::string_view name) noexcept {
  for (std::size_t code = 0; code < kNames.size(); ++code) {
    if (kNames[code] == name) return static_cast<Results>(code);
  }
  return std::nullopt;
}

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kFailedPrecondition: return "failed precondition";
    case ErrorCode::kIO: return "io";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kTooNew: return "too new";
    case ErrorCode::kClosed: return "closed";
  }
  return "unknown";
}

}  // namespace buildhist
