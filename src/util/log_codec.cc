#include "util/log_codec.h"

// ZSTD_decompressBound (exported by libzstd 1.4 and later) is still in the
// static-linking-only part of zstd.h.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "buildhist/error.h"

namespace buildhist::internal {

std::string_view decode_chunk(ChunkCodec codec, std::string_view content,
                              std::int64_t raw_bytes, std::string& scratch,
                              ZSTD_DCtx_s* context) {
  if (codec == ChunkCodec::kText) {
    if (static_cast<std::int64_t>(content.size()) != raw_bytes) {
      throw Error(ErrorCode::kCorrupt, "a log chunk's size does not match its raw_bytes");
    }
    return content;
  }
  if (codec != ChunkCodec::kZstd || raw_bytes < 0) {
    throw Error(ErrorCode::kCorrupt, "a log chunk has an unknown codec");
  }
  // raw_bytes is read from the store: a damaged one must not make us allocate
  // whatever it says. No frame decodes to more than its own bound.
  const unsigned long long bound = ZSTD_decompressBound(content.data(), content.size());
  if (bound == ZSTD_CONTENTSIZE_ERROR || static_cast<unsigned long long>(raw_bytes) > bound) {
    throw Error(ErrorCode::kCorrupt, "a log chunk's raw_bytes is more than its content can hold");
  }
  scratch.resize(static_cast<std::size_t>(raw_bytes));
  const std::size_t size =
      context != nullptr
          ? ZSTD_decompressDCtx(context, scratch.data(), scratch.size(), content.data(),
                                content.size())
          : ZSTD_decompress(scratch.data(), scratch.size(), content.data(), content.size());
  if (ZSTD_isError(size) || size != scratch.size()) {
    throw Error(ErrorCode::kCorrupt, std::string("a log chunk does not decompress: ") +
                                         (ZSTD_isError(size) ? ZSTD_getErrorName(size)
                                                             : "wrong size"));
  }
  return scratch;
}

std::string compress_chunk(std::string_view text, int level) {
  std::string compressed(ZSTD_compressBound(text.size()), '\0');
  const std::size_t size =
      ZSTD_compress(compressed.data(), compressed.size(), text.data(), text.size(), level);
  if (ZSTD_isError(size)) {
    throw Error(ErrorCode::kIO, std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
  }
  compressed.resize(size);
  return compressed;
}

}  // namespace buildhist::internal
