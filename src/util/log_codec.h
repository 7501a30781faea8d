// The content of log chunks: whole lines, each ended by '\n', stored as text
// (codec 0) or zstd-compressed (codec 1).
#ifndef BUILDHIST_LOG_CODEC_H_
#define BUILDHIST_LOG_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

struct ZSTD_DCtx_s;

namespace buildhist::internal {

enum class ChunkCodec : int { kText = 0, kZstd = 1 };

// The text of a chunk stored with `codec`: `content` itself for text, else
// decompressed into `scratch` (reused across chunks). Throws Error(kCorrupt) when
// it does not decode to `raw_bytes` bytes. `context`, if given, is a zstd context
// reused across chunks (see ChunkDecoder), else each call makes its own.
std::string_view decode_chunk(ChunkCodec codec, std::string_view content,
                              std::int64_t raw_bytes, std::string& scratch,
                              ZSTD_DCtx_s* context = nullptr);

// `text` compressed with zstd at `level`.
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
