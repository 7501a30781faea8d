// Fuzz target: the JSON text validation of property values and step URLs
// (src/util/json_text.h).
//
// Invariants: is_json_value never crashes, whatever the nesting (a property value
// may be 1 MB of '['); json_quote of any text made valid UTF-8 is one JSON value,
// and is_json_value agrees on each value it accepts; a urls column
// that is not a JSON array of {name, url} is refused with Error(kCorrupt) and
// nothing else, and one that is survives urls_to_json unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "util/json_text.h"
#include "util/utf8.h"

using buildhist::ErrorCode;
using buildhist::fuzz::check;
namespace internal = buildhist::internal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = buildhist::fuzz::as_text(data, size);
  std::string scratch;

  internal::is_json_value(text);
  const std::string_view repaired = internal::valid_utf8(text, scratch);
  check(internal::is_json_value(internal::json_quote(repaired)),
        "json_quote made something that is not one JSON value");

  std::vector<buildhist::Url> urls;
  if (buildhist::fuzz::refused_cleanly_or_ran(ErrorCode::kCorrupt,
                                              [&] { urls = internal::urls_from_json(text); })) {
    check(internal::urls_from_json(internal::urls_to_json(urls)) == urls,
          "urls do not survive urls_to_json");
  }
  return 0;
}
