#include "util/chunk_decoder.h"

#include <new>

#include <zstd.h>

#include "buildhist/error.h"

namespace buildhist::internal {

DecodingDictionary::DecodingDictionary(std::string_view bytes)
    : dictionary_(ZSTD_createDDict(bytes.data(), bytes.size())) {
  if (dictionary_ == nullptr) throw std::bad_alloc();
}

DecodingDictionary::~DecodingDictionary() { ZSTD_freeDDict(dictionary_); }

void ChunkDecoder::FreeContext::operator()(ZSTD_DCtx_s* context) const noexcept {
  ZSTD_freeDCtx(context);
}

ChunkDecoder::ChunkDecoder() : context_(ZSTD_createDCtx()) {
  if (!context_) throw std::bad_alloc();
}

ChunkDecoder::~ChunkDecoder() = default;

std::string_view ChunkDecoder::decode(ChunkCodec codec, std::string_view content,
                                      std::int64_t raw_bytes, const ZSTD_DDict_s* dictionary) {
  return decode_chunk(codec, content, raw_bytes, scratch_, context_.get(), dictionary);
}

}  // namespace buildhist::internal
