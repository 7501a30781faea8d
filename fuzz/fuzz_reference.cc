// Fuzz target: parse_reference (include/buildhist/reference.h) on any bytes.
//
// Invariants: a malformed reference is refused with Error(kInvalidArgument) and
// nothing else; a reference that parses names a build (number >= 1) with names
// the store could hold, and format_reference writes it back to text that parses
// to the same reference. Any name the rule allows survives escaping: NAME/1 with
// NAME escaped parses back to NAME.
#include <cstddef>
#include <cstdint>

#include "buildhist/reference.h"
#include "fuzz_check.h"
#include "util/names.h"

using buildhist::ErrorCode;
using buildhist::Reference;
using buildhist::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = buildhist::fuzz::as_text(data, size);

  Reference parsed;
  if (buildhist::fuzz::refused_cleanly_or_ran(
          ErrorCode::kInvalidArgument, [&] { parsed = buildhist::parse_reference(text); })) {
    check(parsed.number >= 1, "a parsed build number is below 1");
    check(!buildhist::internal::name_problem(parsed.builder), "a parsed builder name is not a name");
    check(!parsed.log || parsed.step, "a log without a step");
    if (parsed.step && !parsed.step->number) {
      check(!buildhist::internal::name_problem(parsed.step->name), "a parsed step name is not a name");
    }
    check(buildhist::parse_reference(buildhist::format_reference(parsed)) == parsed,
          "format_reference does not parse back to the reference");
  }

  if (!buildhist::internal::name_problem(text)) {
    const std::string escaped = buildhist::escape_reference_part(text) + "/1";
    check(buildhist::parse_reference(escaped).builder == text,
          "an escaped builder name does not parse back to itself");
  }
  return 0;
}
