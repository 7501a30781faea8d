#include "util/utf8.h"

namespace buildhist::internal {

std::optional<CodePoint> next_code_point(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  CodePoint point;
  char32_t smallest = 0;
  if (lead < 0x80) {
    return CodePoint{lead, 1};
  } else if ((lead & 0xe0) == 0xc0) {
    point = {lead & 0x1fu, 2}, smallest = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    point = {lead & 0x0fu, 3}, smallest = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    point = {lead & 0x07u, 4}, smallest = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() < point.length) return std::nullopt;
  for (std::size_t i = 1; i < point.length; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xc0) != 0x80) return std::nullopt;
    point.code = (point.code << 6) | (byte & 0x3fu);
  }
  if (point.code < smallest || point.code > 0x10ffff ||
      (point.code >= 0xd800 && point.code <= 0xdfff)) {
    return std::nullopt;
  }
  return point;
}

std::string_view valid_utf8(std::string_view text, std::string& scratch) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto point = next_code_point(text.substr(at));
    if (!point) break;
    at += point->length;
  }
  if (at == text.size()) return text;
  scratch.assign(text.substr(0, at));
  while (at < text.size()) {
    if (const auto point = next_code_point(text.substr(at))) {
      scratch.append(text.substr(at, point->length));
      at += point->length;
    } else {
      scratch += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
      ++at;
    }
  }
  return scratch;
}

}  // namespace buildhist::internal
