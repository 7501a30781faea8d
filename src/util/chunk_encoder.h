// Compressing log chunks with zstd, with a dictionary (codec 2) or without (codec
// 1), one zstd context kept across chunks.
#ifndef BUILDHIST_UTIL_CHUNK_ENCODER_H_
#define BUILDHIST_UTIL_CHUNK_ENCODER_H_

#include <memory>
#include <string>
#include <string_view>

#include "util/log_codec.h"

struct ZSTD_CCtx_s;
struct ZSTD_CDict_s;

namespace buildhist::internal {

// One thread at a time.
class ChunkEncoder {
 public:
  // Plain zstd at `level`.
  explicit ChunkEncoder(int level);
  // zstd at `level` with `dictionary` (bytes as ZDICT trains them), digested once.
  ChunkEncoder(int level, std::string_view dictionary);
  ~ChunkEncoder();
  ChunkEncoder(const ChunkEncoder&) = delete;
  ChunkEncoder& operator=(const ChunkEncoder&) = delete;

  // kZstdDictionary with a dictionary, else kZstd.
  ChunkCodec codec() const noexcept;

  // `text` as one zstd frame. Throws Error(kIO) if zstd fails.
  std::string encode(std::string_view text);

 private:
  struct Free {
    void operator()(ZSTD_CCtx_s* context) const noexcept;
    void operator()(ZSTD_CDict_s* dictionary) const noexcept;
  };
  const int level_;
  std::unique_ptr<ZSTD_CCtx_s, Free> context_;
  std::unique_ptr<ZSTD_CDict_s, Free> dictionary_;  // null for plain zstd
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_UTIL_CHUNK_ENCODER_H_
