// buildhist: references to builds, steps and logs, as the command line writes them.
//
//   BUILDER/NUMBER[/STEP[/LOG]]
//
// STEP is a step number (0, 1, ...) or a step name, LOG a log slug. A builder name
// may hold any character but control characters; a '/' or '%' in any part is
// written %2F / %25. Parsing is strict: a malformed reference is an error, never a
// lookup of something else (`b/01`, `b/1x`, `b//1` and `b/` are all refused).
#ifndef BUILDHIST_REFERENCE_H_
#define BUILDHIST_REFERENCE_H_

#include <optional>
#include <string>
#include <string_view>

namespace buildhist {

// The most bytes a builder name, step name or log slug may have.
inline constexpr std::size_t kMaxNameBytes = 255;

struct StepSelector {
  std::optional<int> number;  // set when the reference gave a number
  std::string name;           // set when it gave a name

  bool operator==(const StepSelector&) const = default;
};

struct Reference {
  std::string builder;
  int number = 0;                    // the build's number, >= 1
  std::optional<StepSelector> step;  // absent for a build reference
  std::optional<std::string> log;    // a log slug; only with a step

  bool operator==(const Reference&) const = default;
};

// Parses `text`. Throws Error(kInvalidArgument) saying what is malformed.
Reference parse_reference(std::string_view text);

// A part of a reference written with '%' and '/' escaped: parse_reference reads
// format_reference back exactly.
std::string escape_reference_part(std::string_view part);
std::string format_reference(const Reference& reference);

}  // namespace buildhist

#endif  // BUILDHIST_REFERENCE_H_
