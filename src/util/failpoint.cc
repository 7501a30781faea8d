#include "util/failpoint.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace buildhist::internal::failpoint_detail {

namespace {

constexpr const char* kVariable = "BUILDHIST_FAILPOINT";

// The failpoint the environment names, and at which of its passes it kills.
struct Armed {
  std::string name;
  long pass = 1;
  int signal = SIGKILL;
};

Armed parse_environment() {
  Armed armed;
  const char* value = std::getenv(kVariable);
  armed.name = value != nullptr ? value : "";
  constexpr std::string_view kStop = ":stop";
  if (armed.name.ends_with(kStop)) {
    armed.signal = SIGSTOP;
    armed.name.resize(armed.name.size() - kStop.size());
  }
  if (const auto at = armed.name.find('@'); at != std::string::npos) {
    armed.pass = std::max(1L, std::strtol(armed.name.c_str() + at + 1, nullptr, 10));
    armed.name.resize(at);
  }
  return armed;
}

const Armed& environment() {
  static const Armed armed = parse_environment();
  return armed;
}

}  // namespace

std::atomic<bool> armed{!environment().name.empty()};

void reached(std::string_view name) {
  const Armed& wanted = environment();
  if (wanted.name != "*" && wanted.name != name) return;
  static std::atomic<long> passes{0};
  if (passes.fetch_add(1, std::memory_order_relaxed) + 1 == wanted.pass) raise(wanted.signal);
}

}  // namespace buildhist::internal::failpoint_detail
