// buildhist: the one error type the library throws.
//
// Every failure that crosses the public API is a buildhist::Error carrying a code
// and a one-line message that names the operation and the key it failed on.
// SQLite's own exceptions never escape the library.
#ifndef BUILDHIST_ERROR_H_
#define BUILDHIST_ERROR_H_

#include <stdexcept>
#include <string>

namespace buildhist {

enum class ErrorCode {
  kNotFound,         // a builder, build, step or log that does not exist
  kInvalidArgument,  // bad input from the caller: nothing was changed
  kFailedPrecondition,  // a write the object's state forbids (finished build, ...)
  kIO,               // the file system or SQLite failed
  kCorrupt,          // the file is not a buildhist store, or its content is damaged
  kBusy,             // the store is locked by another process past the busy timeout
  kTooNew,           // the store was made by a newer buildhist; it is left untouched
  kClosed,           // the Store the object belongs to has been closed
};

// Returns a short lower-case name for `code` ("not found", "io", ...).
const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}

  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace buildhist

#endif  // BUILDHIST_ERROR_H_
