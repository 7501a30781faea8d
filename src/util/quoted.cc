#include "util/quoted.h"

#include "util/names.h"
#include "util/utf8.h"

namespace buildhist::internal {

std::string quoted(std::string_view text) {
  const bool cut = text.size() > kMaxQuotedBytes;
  if (cut) text = text.substr(0, kMaxQuotedBytes);
  std::string out = "'";
  while (!text.empty()) {
    const auto point = next_code_point(text);
    const std::size_t length = point ? point->length : 1;
    if (point && !text_problem(text.substr(0, length))) {
      out.append(text.substr(0, length));
    } else {
      for (std::size_t i = 0; i < length; ++i) {
        static constexpr char kHex[] = "0123456789abcdef";
        const auto byte = static_cast<unsigned char>(text[i]);
        out += "\\x";
        out += kHex[byte >> 4];
        out += kHex[byte & 0xf];
      }
    }
    text.remove_prefix(length);
  }
  out += cut ? "'..." : "'";
  return out;
}

}  // namespace buildhist::internal
