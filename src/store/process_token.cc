#include "store/process_token.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>
#include <vector>

namespace buildhist::internal {

namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  std::string host(name);
  // The token is ':'-separated.
  for (char& c : host) {
    if (c == ':') c = '_';
  }
  return host;
}

// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat),
// or "" where it cannot be read.
std::string start_time(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold spaces: count from
  // the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  for (int index = 3; fields >> field; ++index) {
    if (index == 22) return field;
  }
  return "";
}

std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(token);
  while (std::getline(in, part, ':')) parts.push_back(part);
  return parts;
}

}  // namespace

std::string new_process_token() {
  static std::atomic<unsigned> count{0};
  const long pid = static_cast<long>(getpid());
  return host_name() + ":" + std::to_string(pid) + ":" + start_time(pid) + ":" +
         std::to_string(count.fetch_add(1) + 1);
}

bool process_is_gone(const std::string& token) {
  const auto parts = split(token);
  if (parts.size() != 4 || parts[0] != host_name()) return false;
  long pid = 0;
  try {
    pid = std::stol(parts[1]);
  } catch (const std::exception&) {
    return false;
  }
  if (pid <= 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  // The pid runs: the same process only if it started when the token says.
  const std::string started = start_time(pid);
  return !started.empty() && !parts[2].empty() && started != parts[2];
}

std::string describe_token(const std::string& token) {
  const auto parts = split(token);
  if (parts.size() != 4) return "another process";
  return "process " + parts[1] + " on host " + parts[0];
}

}  // namespace buildhist::internal
