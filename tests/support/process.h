// Running the real buildhist binary as a process, as a user or a script would.
#ifndef BUILDHIST_TESTS_SUPPORT_PROCESS_H_
#define BUILDHIST_TESTS_SUPPORT_PROCESS_H_

#include <map>
#include <string>
#include <vector>

namespace buildhist::testing {

struct ProcessResult {
  int status = -1;  // the exit status; 128 + N when killed by signal N
  std::string out;  // standard output
  std::string err;  // standard error
};

// The buildhist binary under test: $BUILDHIST_BIN, set by tests/meson.build.
std::string buildhist_binary();

// Runs `program` with `args` (no shell), standard input from /dev/null, with
// `env` added to the environment and, unless `cwd` is empty, in the directory
// `cwd`; waits for it and captures both outputs.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {},
                          const std::string& cwd = {});

// run_process(buildhist_binary(), args, env, cwd).
ProcessResult buildhist(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {},
                        const std::string& cwd = {});

}  // namespace buildhist::testing

#endif  // BUILDHIST_TESTS_SUPPORT_PROCESS_H_
