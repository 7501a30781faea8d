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
  return decode_chunk(codec, content, raw_bytes, scratch_, context_.get());
}

}  // namespace buildhist::internal
