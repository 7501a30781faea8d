// Failpoints: named places where a test can have the process die at once, as a
// crash or `kill -9` would, to prove that what is on disk is whole at that point.
//
// BUILDHIST_FAILPOINT=NAME kills the process (SIGKILL, raised on itself) the first
// time failpoint(NAME) is reached; NAME@N the Nth time. NAME "*" matches every
// failpoint, so `*@N` dies at the Nth failpoint reached, whichever it is. A
// trailing ":stop" raises SIGSTOP instead, so that a test can act while the
// process is held at that point (then SIGCONT it). Unset, a failpoint costs one
// relaxed atomic load. The variable is read once, when the library is loaded.
#ifndef BUILDHIST_UTIL_FAILPOINT_H_
#define BUILDHIST_UTIL_FAILPOINT_H_

#include <atomic>
#include <string_view>

namespace buildhist::internal {

namespace failpoint_detail {
extern std::atomic<bool> armed;
void reached(std::string_view name);
}  // namespace failpoint_detail

inline void failpoint(std::string_view name) {
  if (failpoint_detail::armed.load(std::memory_order_relaxed)) failpoint_detail::reached(name);
}

}  // namespace buildhist::internal

#endif  // BUILDHIST_UTIL_FAILPOINT_H_
