// The JSON Lines format of buildhist export and import (docs/transfer.md).
//
// A build line holds a build, its properties, steps and logs; with log text, text
// lines follow it, each at most kLinesPerTextRecord lines of one log, in the order
// of the build's logs and of their lines. Written and parsed with RapidJSON.
#ifndef BUILDHIST_TRANSFER_JSONL_FORMAT_H_
#define BUILDHIST_TRANSFER_JSONL_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/history.h"

namespace buildhist::transfer {

constexpr int kFormatVersion = 1;
constexpr std::size_t kLinesPerTextRecord = 1000;

// A parsed text line: lines first_line.. of the log `slug` of step `step`.
struct TextRecord {
  int step = 0;
  std::string slug;
  std::int64_t first_line = 0;
  std::vector<std::string> lines;  // without their '\n'
  bool operator==(const TextRecord&) const = default;
};

// One line of JSON, without its '\n'.
std::string build_line(const BuildDetail& build, bool with_text);
std::string text_line(const TextRecord& text);

// What one input line holds. Throws Error(kInvalidArgument) saying what is wrong.
struct ParsedLine {
  bool is_build = false;
  BuildDetail build;  // when is_build
  bool with_text = false;
  TextRecord text;    // otherwise
};
ParsedLine parse_line(std::string_view line);

}  // namespace buildhist::transfer

#endif  // BUILDHIST_TRANSFER_JSONL_FORMAT_H_
