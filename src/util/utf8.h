// UTF-8, as names must be and as JSON is: decoding one code point, and repairing
// text a master wrote in another encoding before it goes into JSON.
#ifndef BUILDHIST_UTF8_H_
#define BUILDHIST_UTF8_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace buildhist::internal {

struct CodePoint {
  char32_t code = 0;
  std::size_t length = 0;  // bytes of its sequence
};

// The code point whose UTF-8 sequence starts `text` (not empty); nullopt for a
// stray, truncated, overlong or surrogate sequence.
std::optional<CodePoint> next_code_point(std::string_view text);

// `text` when it is valid UTF-8 (no copy); otherwise a copy in `scratch` with each
// byte that belongs to no valid sequence replaced by U+FFFD, which is returned.
std::string_view valid_utf8(std::string_view text, std::string& scratch);

}  // namespace buildhist::internal

#endif  // BUILDHIST_UTF8_H_
