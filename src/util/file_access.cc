#include "util/file_access.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace buildhist::internal {

std::optional<std::string> unwritable_reason(const std::string& path) {
  std::filesystem::path directory = std::filesystem::path(path).parent_path();
  if (directory.empty()) directory = ".";
  struct statvfs fs {};
  if (statvfs(directory.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0) {
    return "the file system is read-only";
  }
  if (access(directory.c_str(), W_OK) != 0) {
    const int error = errno;
    return "its directory " + directory.string() +
           (error == ENOENT || error == ENOTDIR ? " does not exist" : " is not writable");
  }
  if (access(path.c_str(), F_OK) == 0 && access(path.c_str(), W_OK) != 0) {
    return "the file is not writable";
  }
  return std::nullopt;
}

}  // namespace buildhist::internal
