// What every fuzz target shares: a check that stops the run on a broken invariant
// (libFuzzer then keeps the input that broke it), and the one exception a target
// may expect from the library.
#ifndef BUILDHIST_FUZZ_FUZZ_CHECK_H_
#define BUILDHIST_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "buildhist/error.h"

namespace buildhist::fuzz {

// Aborts with `what` when `ok` is false: a crash, as the fuzzer counts them.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

// Runs `call`, which may refuse its input only with Error(code): any other
// exception escapes the target, which is a crash. True when it did not throw.
template <typename Call>
bool refused_cleanly_or_ran(ErrorCode code, Call&& call) {
  try {
    call();
    return true;
  } catch (const Error& error) {
    check(error.code() == code, "the library threw an Error of another code");
    check(std::string_view(error.what()).find('\n') == std::string_view::npos,
          "an error message is more than one line");
    return false;
  }
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace buildhist::fuzz

#endif  // BUILDHIST_FUZZ_FUZZ_CHECK_H_
