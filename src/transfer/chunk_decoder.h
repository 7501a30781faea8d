// Buildbot's log chunk compressions, decoded with the libraries that wrote them.
//
// Codes as buildbot's master/buildbot/db/logs.py numbers them: 0 raw, 1 gz (a zlib
// stream), 2 bz2, 3 lz4 (lz4.block with its 4-byte little-endian size first),
// 4 zstd and 5 brotli (buildbot 4.1 and later). A chunk stays raw when
// compressing it did not make it smaller, so every code can appear in one log.
#ifndef BUILDHIST_TRANSFER_CHUNK_DECODER_H_
#define BUILDHIST_TRANSFER_CHUNK_DECODER_H_

#include <string>
#include <string_view>

namespace buildhist::transfer {

// The chunk's text: `content` itself when raw, otherwise decoded into `scratch`
// (reused across calls). Throws Error(kCorrupt) saying what did not decode.
std::string_view decode_buildbot_chunk(int compressed, std::string_view content,
                                       std::string& scratch);

}  // namespace buildhist::transfer

#endif  // BUILDHIST_TRANSFER_CHUNK_DECODER_H_
