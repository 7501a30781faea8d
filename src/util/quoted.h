// User input quoted in an error message. Every error is one line on a terminal
// (CLI.md), so the text a user gave cannot be echoed as it is: a newline would
// break the line and an escape sequence would drive the terminal.
#ifndef BUILDHIST_QUOTED_H_
#define BUILDHIST_QUOTED_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace buildhist::internal {

// The most bytes of input a message quotes; longer input ends in "...".
inline constexpr std::size_t kMaxQuotedBytes = 200;

// `text` between single quotes, each control character and each byte of invalid
// UTF-8 written \xNN, cut after kMaxQuotedBytes bytes of input.
std::string quoted(std::string_view text);

}  // namespace buildhist::internal

#endif  // BUILDHIST_QUOTED_H_
