// Names this process to other processes writing the same store, and tells whether
// a process so named is gone (so what it held in the store may be taken over).
#ifndef BUILDHIST_STORE_PROCESS_TOKEN_H_
#define BUILDHIST_STORE_PROCESS_TOKEN_H_

#include <string>

namespace buildhist::internal {

// "host:pid:start:n": the host, the process id, the process's start time (so a
// reused pid is another process) and a number unique to each call in this process
// (each open Store is a writer of its own).
std::string new_process_token();

// True only when the token names a process on this host that no longer runs. A
// process on another host is never known to be gone.
bool process_is_gone(const std::string& token);

// "process 1234 on host h" for a message.
std::string describe_token(const std::string& token);

}  // namespace buildhist::internal

#endif  // BUILDHIST_STORE_PROCESS_TOKEN_H_
