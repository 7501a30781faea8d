// The rule every name a reference can spell obeys (builder names, step names, log
// slugs): 1 to kMaxNameBytes bytes of UTF-8 without control characters. The store
// refuses a builder it could not name, and parse_reference a name the store cannot
// hold, from this one rule.
#ifndef BUILDHIST_NAMES_H_
#define BUILDHIST_NAMES_H_

#include <optional>
#include <string>
#include <string_view>

namespace buildhist::internal {

// What is wrong with `name` ("is empty", "has a control character", ...), or
// nullopt when it is a good name.
std::optional<std::string> name_problem(std::string_view name);

// What is wrong with `text` as UTF-8 without control characters, whatever its
// length (empty is fine), or nullopt: the part of the rule free text obeys too.
std::optional<std::string> text_problem(std::string_view text);

}  // namespace buildhist::internal

#endif  // BUILDHIST_NAMES_H_
