// The content of log chunks: whole lines, each ended by '\n', stored as text
// (codec 0), zstd-compressed (codec 1), or zstd-compressed with a dictionary
// (codec 2; the chunk's row names the dictionary, which the caller passes in).
#ifndef BUILDHIST_LOG_CODEC_H_
#define BUILDHIST_LOG_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

struct ZSTD_DCtx_s;
struct ZSTD_DDict_s;

namespace buildhist::internal {

enum class ChunkCodec : int { kText = 0, kZstd = 1, kZstdDictionary = 2 };

// The text of a chunk stored with `codec`: `content` itself for text, else
// decompressed into `scratch` (reused across chunks). Throws Error(kCorrupt) when
// it does not decode to `raw_bytes` bytes, or when `dictionary` is missing for
// codec 2 (or given for another codec). `context`, if given, is a zstd context
// reused across chunks (see ChunkDecoder), else each call makes its own.
std::string_view decode_chunk(ChunkCodec codec, std::string_view content,
                              std::int64_t raw_bytes, std::string& scratch,
                              ZSTD_DCtx_s* context = nullptr,
                              const ZSTD_DDict_s* dictionary = nullptr);

// `text` compressed with zstd at `level`, without a dictionary (see ChunkEncoder).
std::string compress_chunk(std::string_view text, int level);

// Calls `line(text_without_newline)` for every line of chunk text.
template <typename LineFn>
void for_each_line(std::string_view text, LineFn&& line) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) {
      line(text);
      return;
    }
    line(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
}

}  // namespace buildhist::internal

#endif  // BUILDHIST_LOG_CODEC_H_
