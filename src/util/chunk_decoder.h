// decode_chunk with a zstd context kept across chunks: ZSTD_decompress makes and
// frees one a call, which costs more than decompressing a small chunk.
#ifndef BUILDHIST_UTIL_CHUNK_DECODER_H_
#define BUILDHIST_UTIL_CHUNK_DECODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/log_codec.h"

struct ZSTD_DCtx_s;

namespace buildhist::internal {

// One thread at a time. The text returned stays valid until the next decode().
class ChunkDecoder {
 public:
  ChunkDecoder();
  ~ChunkDecoder();

  // As decode_chunk: Error(kCorrupt) when the chunk does not decode to raw_bytes.
  std::string_view decode(ChunkCodec codec, std::string_view content, std::int64_t raw_bytes);

 private:
  struct FreeContext {
    void operator()(ZSTD_DCtx_s* context) const noexcept;
  };
  std::unique_ptr<ZSTD_DCtx_s, FreeContext> context_;
  std::string scratch_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_UTIL_CHUNK_DECODER_H_
