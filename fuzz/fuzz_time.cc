// Fuzz target: parse_time, parse_duration and format_time (include/buildhist/report.h).
//
// Invariants: malformed text is refused with Error(kInvalidArgument) and nothing
// else; a duration is never negative; a time the library can store (1970 to 9999)
// prints as text that parses back to the same second; format_time takes any
// number of seconds without crashing.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "buildhist/report.h"
#include "fuzz_check.h"

using buildhist::ErrorCode;
using buildhist::fuzz::check;

namespace {

// 9999-12-31T23:59:59Z, the last second a time in the store may have.
constexpr std::int64_t kLastSecond = 253402300799;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = buildhist::fuzz::as_text(data, size);

  std::int64_t seconds = 0;
  if (buildhist::fuzz::refused_cleanly_or_ran(
          ErrorCode::kInvalidArgument, [&] { seconds = buildhist::parse_time(text); })) {
    if (seconds >= 0 && seconds <= kLastSecond) {
      check(buildhist::parse_time(buildhist::format_time(seconds)) == seconds,
            "format_time does not parse back to the same second");
    }
  }

  std::int64_t duration = 0;
  if (buildhist::fuzz::refused_cleanly_or_ran(
          ErrorCode::kInvalidArgument, [&] { duration = buildhist::parse_duration(text); })) {
    check(duration >= 0, "a duration is negative");
  }

  if (size >= sizeof(std::int64_t)) {
    std::int64_t any = 0;
    std::memcpy(&any, data, sizeof(any));
    check(!buildhist::format_time(any).empty(), "format_time printed nothing");
  }
  return 0;
}
