// decode_chunk with a zstd context kept across chunks: ZSTD_decompress makes and
// frees one a call, which costs more than decompressing a small chunk. And the
// dictionary a codec-2 chunk needs, digested once.
#ifndef BUILDHIST_UTIL_CHUNK_DECODER_H_
#define BUILDHIST_UTIL_CHUNK_DECODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/log_codec.h"

struct ZSTD_DCtx_s;
struct ZSTD_DDict_s;

namespace buildhist::internal {

// A zstd dictionary digested for decompression (ZSTD_createDDict, from a copy of
// its bytes). Immutable once made: any number of decoders, in any threads, may
// use it at once.
class DecodingDictionary {
 public:
  explicit DecodingDictionary(std::string_view bytes);
  ~DecodingDictionary();
  DecodingDictionary(const DecodingDictionary&) = delete;
  DecodingDictionary& operator=(const DecodingDictionary&) = delete;

  const ZSTD_DDict_s* get() const noexcept { return dictionary_; }

 private:
  ZSTD_DDict_s* dictionary_;
};

// One thread at a time. The text returned stays valid until the next decode().
class ChunkDecoder {
 public:
  ChunkDecoder();
  ~ChunkDecoder();

  // As decode_chunk: Error(kCorrupt) when the chunk does not decode to raw_bytes.
  // `dictionary` is the chunk's for codec 2, else nullptr.
  std::string_view decode(ChunkCodec codec, std::string_view content, std::int64_t raw_bytes,
                          const ZSTD_DDict_s* dictionary = nullptr);

 private:
  struct FreeContext {
    void operator()(ZSTD_DCtx_s* context) const noexcept;
  };
  std::unique_ptr<ZSTD_DCtx_s, FreeContext> context_;
  std::string scratch_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_UTIL_CHUNK_DECODER_H_
