// The size of a store's files, as `stats` and `compact` report them.
#ifndef BUILDHIST_FILE_SIZE_H_
#define BUILDHIST_FILE_SIZE_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

namespace buildhist::internal {

// Bytes in the file at `path`; 0 when there is none (a WAL not created yet).
inline std::int64_t file_size_or_zero(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<std::int64_t>(size);
}

}  // namespace buildhist::internal

#endif  // BUILDHIST_FILE_SIZE_H_
