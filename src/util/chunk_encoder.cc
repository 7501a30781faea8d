#include "util/chunk_encoder.h"

#include <new>

#include <zstd.h>

#include "buildhist/error.h"

namespace buildhist::internal {

void ChunkEncoder::Free::operator()(ZSTD_CCtx_s* context) const noexcept {
  ZSTD_freeCCtx(context);
}

void ChunkEncoder::Free::operator()(ZSTD_CDict_s* dictionary) const noexcept {
  ZSTD_freeCDict(dictionary);
}

ChunkEncoder::ChunkEncoder(int level) : level_(level), context_(ZSTD_createCCtx()) {
  if (!context_) throw std::bad_alloc();
}

ChunkEncoder::ChunkEncoder(int level, std::string_view dictionary) : ChunkEncoder(level) {
  dictionary_.reset(ZSTD_createCDict(dictionary.data(), dictionary.size(), level));
  if (!dictionary_) throw std::bad_alloc();
}

ChunkEncoder::~ChunkEncoder() = default;

ChunkCodec ChunkEncoder::codec() const noexcept {
  return dictionary_ ? ChunkCodec::kZstdDictionary : ChunkCodec::kZstd;
}

std::string ChunkEncoder::encode(std::string_view text) {
  std::string compressed(ZSTD_compressBound(text.size()), '\0');
  const std::size_t size =
      dictionary_ ? ZSTD_compress_usingCDict(context_.get(), compressed.data(), compressed.size(),
                                             text.data(), text.size(), dictionary_.get())
                  : ZSTD_compressCCtx(context_.get(), compressed.data(), compressed.size(),
                                      text.data(), text.size(), level_);
  if (ZSTD_isError(size)) {
    throw Error(ErrorCode::kIO, std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
  }
  compressed.resize(size);
  return compressed;
}

}  // namespace buildhist::internal
