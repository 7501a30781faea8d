// Buildbot's log chunk compressions, decoded with the libraries that wrote them.
//
// Codes as buildbot's master/buildbot/db/logs.py numbers them: 0 raw, 1 gz (a zlib
// stream), 2 bz2, 3 lz4 (lz4.block with its 4-byte little-endian size first),
// 4 zstd and 5 brotli (buildbot 4.1 and later). A chunk stays raw when
// compressing it did not make it smaller, so every code can appear in one log.
#ifndef BUILDHIST_TRANSFER_CHUNK_DECODER_H_
#define BUILDHIST_TRANSFER_CHUNK_DECODER_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace buildhist::transfer {

// The most text a chunk may decode to. Buildbot writes at most 64 KiB of text a
// chunk (MAX_CHUNK_SIZE in logs.py: longer text is split, a longer line cut);
// 1 MiB leaves room for a fork that writes more. Anything larger is damage or a
// decompression bomb: decoding stops there, having allocated no more than this.
inline constexpr std::size_t kMaxBuildbotChunkText = 1 << 20;

// The chunk's text: `content` itself when raw, otherwise decoded into `scratch`
// (reused across calls), at most kMaxBuildbotChunkText bytes. Throws
// Error(kCorrupt) saying what did not decode, or that it decodes to more.
std::string_view decode_buildbot_chunk(int compressed, std::string_view content,
                                       std::string& scratch);

}  // namespace buildhist::transfer

#endif  // BUILDHIST_TRANSFER_CHUNK_DECODER_H_
