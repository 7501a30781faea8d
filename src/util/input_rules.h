// The rules every value a master hands the library obeys, checked at the entry of
// the public method that takes it, before anything is changed or queued:
//
//   names      builder, step, log and property names: the rule of names.h
//   text       state strings, URL names and URLs (up to kMaxTextBytes): UTF-8
//              without control characters, possibly empty
//   bytes      worker names, property names (not empty) and sources: up to
//              kMaxNameBytes of any bytes, as a master wrote them (the query
//              layer repairs what is not UTF-8 where it writes JSON)
//   times      whole seconds from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z
//   JSON       property values: exactly one JSON value
//   results    buildbot's codes, 0 to 6
//
// Each require_* throws Error(kInvalidArgument) "ACTION: the FIELD PROBLEM" when
// its value breaks the rule; `action` says what was refused ("start a build of
// b", "finish step b/1/compile").
#ifndef BUILDHIST_INPUT_RULES_H_
#define BUILDHIST_INPUT_RULES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "buildhist/reference.h"
#include "buildhist/results.h"
#include "buildhist/store.h"

namespace buildhist::internal {

// The most bytes a state string, URL name or URL may have.
inline constexpr std::size_t kMaxTextBytes = 4096;

// The first and last second a time the store keeps may be.
inline constexpr std::int64_t kFirstSecond = 0;             // 1970-01-01T00:00:00Z
inline constexpr std::int64_t kLastSecond = 253402300799;   // 9999-12-31T23:59:59Z

void require_name(std::string_view action, std::string_view field, std::string_view name);
void require_text(std::string_view action, std::string_view field, std::string_view text,
                  std::size_t max_bytes);
void require_bytes(std::string_view action, std::string_view field, std::string_view bytes,
                   std::size_t max_bytes);
void require_time(std::string_view action, std::string_view field, std::int64_t seconds);
void require_json(std::string_view action, std::string_view field, std::string_view json);
void require_results(std::string_view action, Results results);

// Every field of `start`, for a build of `builder` (whose name is checked too).
void require_build_start(std::string_view builder, const BuildStart& start);

}  // namespace buildhist::internal

#endif  // BUILDHIST_INPUT_RULES_H_
