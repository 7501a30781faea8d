// Fuzz target: the JSON text validation of property values and step URLs
// (src/util/json_text.h).
//
// Invariants: is_json_value never crashes, whatever the nesting (a property value
// may be 1 MB of '['); what it accepts is valid UTF-8, since it goes into JSON
// output unchanged; json_quote of any valid UTF-8 is one JSON value; a urls column
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

  if (internal::is_json_value(text)) {
    check(internal::valid_utf8(text, scratch).data() == text.data(),
          "a JSON value that is not valid UTF-8 was accepted");
  }
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
