// Fuzz target: parse_line, the JSON Lines importer's reading of a line
// (src/transfer/jsonl_format.h), on each line of a document as import reads it.
//
// Invariants: a line that is not a build or a text record is refused with
// Error(kInvalidArgument) in one printable line, and nothing else, whatever its
// nesting (a property value may be nested a million deep, which must cost heap,
// not stack); and a line that parses is what build_line or text_line writes back
// for what it holds: written again, it parses to the same record.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "transfer/jsonl_format.h"
#include "util/log_codec.h"

using buildhist::ErrorCode;
using buildhist::fuzz::check;
namespace transfer = buildhist::transfer;

namespace {

std::string written_back(const transfer::ParsedLine& parsed) {
  return parsed.is_build ? transfer::build_line(parsed.build, parsed.with_text)
                         : transfer::text_line(parsed.text);
}

void check_line(std::string_view line) {
  transfer::ParsedLine parsed;
  if (!buildhist::fuzz::refused_cleanly_or_ran(
          ErrorCode::kInvalidArgument, [&] { parsed = transfer::parse_line(line); })) {
    return;
  }
  const transfer::ParsedLine again = transfer::parse_line(written_back(parsed));
  check(again.is_build == parsed.is_build, "a line written back is of the other kind");
  if (parsed.is_build) {
    check(again.build == parsed.build && again.with_text == parsed.with_text,
          "a build line written back parses to another build");
  } else {
    check(again.text == parsed.text, "a text line written back parses to other text");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  buildhist::internal::for_each_line(buildhist::fuzz::as_text(data, size), check_line);
  return 0;
}
