#include "util/names.h"

#include "buildhist/reference.h"
#include "util/utf8.h"

namespace buildhist::internal {

namespace {

bool is_control(char32_t code) { return code < 0x20 || (code >= 0x7f && code <= 0x9f); }

}  // namespace

std::optional<std::string> name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxNameBytes) {
    return "is longer than " + std::to_string(kMaxNameBytes) + " bytes";
  }
  return text_problem(name);
}

std::optional<std::string> text_problem(std::string_view text) {
  while (!text.empty()) {
    const auto point = next_code_point(text);
    if (!point) return "is not valid UTF-8";
    if (is_control(point->code)) return "has a control character";
    text.remove_prefix(point->length);
  }
  return std::nullopt;
}

}  // namespace buildhist::internal
