// What every fuzz target shares: a check that stops the run on a broken invariant
// (libFuzzer then keeps the input that broke it), the one exception a target may
// expect from the library, and a reader that cuts an input into its fields.
#ifndef BUILDHIST_FUZZ_FUZZ_CHECK_H_
#define BUILDHIST_FUZZ_FUZZ_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "buildhist/error.h"
#include "util/names.h"

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
// The message must be one line a terminal can print as it is (docs/hostile.md):
// UTF-8 without a control character, whatever bytes the input quoted in it had.
template <typename Call>
bool refused_cleanly_or_ran(ErrorCode code, Call&& call) {
  try {
    call();
    return true;
  } catch (const Error& error) {
    check(error.code() == code, "the library threw an Error of another code");
    check(!internal::text_problem(error.what()),
          "an error message is not one printable line of UTF-8");
    return false;
  }
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Cuts an input into the fields a target reads from it, front to back. Each field
// is a view of the input; once it is used up, a byte is 0 and a text is empty, so
// that every input, however short, is a complete one.
class InputReader {
 public:
  InputReader(const std::uint8_t* data, std::size_t size) : rest_(as_text(data, size)) {}

  std::uint8_t byte() {
    if (rest_.empty()) return 0;
    const auto value = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return value;
  }

  // The text up to the first `separator`, which is consumed too; all the rest
  // when there is none.
  std::string_view until(char separator) {
    const std::size_t end = rest_.find(separator);
    const std::string_view field = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
    return field;
  }

  std::string_view rest() { return std::exchange(rest_, std::string_view()); }

 private:
  std::string_view rest_;
};

}  // namespace buildhist::fuzz

#endif  // BUILDHIST_FUZZ_FUZZ_CHECK_H_
