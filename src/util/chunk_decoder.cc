#include "util/chunk_decoder.h"

#include <zstd.h>

#include "buildhist/error.h"

namespace buildhist::internal {

void ChunkDecoder::FreeContext::operator()(ZSTD_DCtx_s* context) const noexcept {
  ZSTD_freeDCtx(context);
}

ChunkDecoder::ChunkDecoder() : context_(ZSTD_createDCtx()) {
  if (!context_) throw std::bad_alloc();
}

ChunkDecoder::~ChunkDecoder() = default;

std::string_view ChunkDecoder::decode(ChunkCodec codec, std::string_view content,
                                      std::int64_t raw_bytes) {
  if (codec != ChunkCodec::kZstd || raw_bytes < 0) {
    return decode_chunk(codec, content, raw_bytes, scratch_);  // text, or its error
  }
  scratch_.resize(static_cast<std::size_t>(raw_bytes));
  const std::size_t size = ZSTD_decompressDCtx(context_.get(), scratch_.data(), scratch_.size(),
                                               content.data(), content.size());
  if (ZSTD_isError(size) || size != scratch_.size()) {
    throw Error(ErrorCode::kCorrupt, std::string("a log chunk does not decompress: ") +
                                         (ZSTD_isError(size) ? ZSTD_getErrorName(size)
                                                             : "wrong size"));
  }
  return scratch_;
}

}  // namespace buildhist::internal
