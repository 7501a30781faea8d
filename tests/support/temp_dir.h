// A fresh directory under $TMPDIR for one test, removed with everything in it.
#ifndef BUILDHIST_TESTS_SUPPORT_TEMP_DIR_H_
#define BUILDHIST_TESTS_SUPPORT_TEMP_DIR_H_

#include <filesystem>
#include <string>

namespace buildhist::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A path inside the directory, as a string.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The whole content of a file, for byte-for-byte comparisons.
std::string read_file(const std::string& path);

}  // namespace buildhist::testing

#endif  // BUILDHIST_TESTS_SUPPORT_TEMP_DIR_H_
