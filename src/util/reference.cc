#include "buildhist/reference.h"

#include <charconv>
#include <vector>

#include "buildhist/error.h"
#include "util/names.h"
#include "util/quoted.h"

namespace buildhist {

namespace {

[[noreturn]] void malformed(std::string_view text, std::string_view why) {
  throw Error(ErrorCode::kInvalidArgument,
              "malformed reference " + internal::quoted(text) + ": " + std::string(why) +
                  " (expected BUILDER/NUMBER[/STEP[/LOG]])");
}

// `part` with %2F and %25 decoded. Any other '%' is malformed: a reference has one
// spelling, so that no typo silently names something else.
std::string unescape(std::string_view text, std::string_view part, const char* what) {
  std::string name;
  name.reserve(part.size());
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      name += part[i];
      continue;
    }
    const std::string_view code = part.substr(i + 1, 2);
    if (code == "2F" || code == "2f") {
      name += '/';
    } else if (code == "25") {
      name += '%';
    } else {
      malformed(text, std::string("a '%' in the ") + what +
                          " must be written %25 (and a '/' %2F)");
    }
    i += 2;
  }
  if (const auto problem = internal::name_problem(name)) {
    malformed(text, std::string("the ") + what + " " + *problem);
  }
  return name;
}

// A decimal number without sign or leading zero, at least `smallest`.
std::optional<int> canonical_number(std::string_view part, int smallest) {
  if (part.empty() || (part.size() > 1 && part[0] == '0')) return std::nullopt;
  int value = 0;
  const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
  if (error != std::errc() || end != part.data() + part.size() || value < smallest) {
    return std::nullopt;
  }
  return value;
}

bool all_digits(std::string_view part) {
  return !part.empty() && part.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Reference parse_reference(std::string_view text) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2) malformed(text, "no build number");
  if (parts.size() > 4) malformed(text, "too many parts");
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) {
      static constexpr const char* kWhat[] = {"builder name", "build number", "step", "log slug"};
      malformed(text, std::string("the ") + kWhat[i] + " is empty");
    }
  }

  Reference reference;
  reference.builder = unescape(text, parts[0], "builder name");
  const auto number = canonical_number(parts[1], 1);
  if (!number) malformed(text, "the build number must be a whole number from 1, as 1 or 42");
  reference.number = *number;
  if (parts.size() >= 3) {
    StepSelector step;
    if (all_digits(parts[2])) {
      const auto step_number = canonical_number(parts[2], 0);
      if (!step_number) malformed(text, "a step number is written without leading zeros");
      step.number = step_number;
    } else {
      step.name = unescape(text, parts[2], "step name");
    }
    reference.step = std::move(step);
  }
  if (parts.size() == 4) reference.log = unescape(text, parts[3], "log slug");
  return reference;
}

std::string escape_reference_part(std::string_view part) {
  std::string escaped;
  escaped.reserve(part.size());
  for (const char c : part) {
    if (c == '%') {
      escaped += "%25";
    } else if (c == '/') {
      escaped += "%2F";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string format_reference(const Reference& reference) {
  std::string text = escape_reference_part(reference.builder) + "/" +
                     std::to_string(reference.number);
  if (reference.step) {
    text += "/";
    text += reference.step->number ? std::to_string(*reference.step->number)
                                   : escape_reference_part(reference.step->name);
    if (reference.log) text += "/" + escape_reference_part(*reference.log);
  }
  return text;
}

}  // namespace buildhist
