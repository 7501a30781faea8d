// Whether a store's place lets it be written: the file, its directory (where
// SQLite makes the -wal and -shm files), and the file system.
#ifndef BUILDHIST_UTIL_FILE_ACCESS_H_
#define BUILDHIST_UTIL_FILE_ACCESS_H_

#include <optional>
#include <string>

namespace buildhist::internal {

// Why the store at `path` (which need not exist yet) cannot be written, e.g.
// "the file system is read-only"; nullopt when it can be.
std::optional<std::string> unwritable_reason(const std::string& path);

}  // namespace buildhist::internal

#endif  // BUILDHIST_UTIL_FILE_ACCESS_H_
