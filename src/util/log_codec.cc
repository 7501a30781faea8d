#include "util/log_codec.h"

// ZSTD_decompressBound (exported by libzstd 1.4 and later) is still in the
// static-linking-only part of zstd.h.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <memory>
#include <new>

#include "buildhist/error.h"

namespace buildhist::internal {

namespace {

struct FreeContext {
  void operator()(ZSTD_DCtx* context) const noexcept { ZSTD_freeDCtx(context); }
};

// Decompresses a zstd frame of `content` into `out` (sized to the text already),
// with `dictionary` if given; returns zstd's result code.
std::size_t decompress(std::string_view content, std::string& out, ZSTD_DCtx* context,
                       const ZSTD_DDict* dictionary) {
  std::unique_ptr<ZSTD_DCtx, FreeContext> own;
  if (context == nullptr) {
    own.reset(ZSTD_createDCtx());
    if (!own) throw std::bad_alloc();
    context = own.get();
  }
  if (dictionary != nullptr) {
    return ZSTD_decompress_usingDDict(context, out.data(), out.size(), content.data(),
                                      content.size(), dictionary);
  }
  return ZSTD_decompressDCtx(context, out.data(), out.size(), content.data(), content.size());
}

}  // namespace

std::string_view decode_chunk(ChunkCodec codec, std::string_view content,
                              std::int64_t raw_bytes, std::string& scratch,
                              ZSTD_DCtx_s* context, const ZSTD_DDict_s* dictionary) {
  if (codec == ChunkCodec::kText) {
    if (static_cast<std::int64_t>(content.size()) != raw_bytes) {
      throw Error(ErrorCode::kCorrupt, "a log chunk's size does not match its raw_bytes");
    }
    return content;
  }
  if ((codec != ChunkCodec::kZstd && codec != ChunkCodec::kZstdDictionary) || raw_bytes < 0) {
    throw Error(ErrorCode::kCorrupt, "a log chunk has an unknown codec");
  }
  if ((codec == ChunkCodec::kZstdDictionary) != (dictionary != nullptr)) {
    throw Error(ErrorCode::kCorrupt, codec == ChunkCodec::kZstdDictionary
                                         ? "a log chunk of codec 2 has no zstd dictionary"
                                         : "a log chunk of codec 1 names a zstd dictionary");
  }
  // raw_bytes is read from the store: a damaged one must not make us allocate
  // whatever it says. No frame decodes to more than its own bound.
  const unsigned long long bound = ZSTD_decompressBound(content.data(), content.size());
  if (bound == ZSTD_CONTENTSIZE_ERROR || static_cast<unsigned long long>(raw_bytes) > bound) {
    throw Error(ErrorCode::kCorrupt, "a log chunk's raw_bytes is more than its content can hold");
  }
  scratch.resize(static_cast<std::size_t>(raw_bytes));
  const std::size_t size = decompress(content, scratch, context, dictionary);
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
