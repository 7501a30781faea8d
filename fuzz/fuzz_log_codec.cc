// Fuzz target: decode_chunk for every codec (src/util/log_codec.h), on chunk
// rows as a damaged store could hold them.
//
// The input is a chunk row: its first byte picks the codec column (any int, not
// only the known ones), the next eight its raw_bytes column, the rest its content.
// Invariants: a chunk that does not decode is refused with Error(kCorrupt) and
// nothing else (never an allocation of whatever raw_bytes says); one that decodes
// is exactly raw_bytes bytes; and any text compressed by compress_chunk decodes
// back to itself with the size it has.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "util/log_codec.h"

using buildhist::ErrorCode;
using buildhist::fuzz::check;
using buildhist::internal::ChunkCodec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kHeader = 1 + sizeof(std::int64_t);
  if (size < kHeader) return 0;
  // Mostly the two real codecs, sometimes an unknown one.
  const auto codec = static_cast<ChunkCodec>(static_cast<int>(data[0] % 4) - 1);
  std::int64_t raw_bytes = 0;
  std::memcpy(&raw_bytes, data + 1, sizeof(raw_bytes));
  const std::string_view content = buildhist::fuzz::as_text(data + kHeader, size - kHeader);

  std::string scratch;
  std::string_view text;
  if (buildhist::fuzz::refused_cleanly_or_ran(ErrorCode::kCorrupt, [&] {
        text = buildhist::internal::decode_chunk(codec, content, raw_bytes, scratch);
      })) {
    check(static_cast<std::int64_t>(text.size()) == raw_bytes,
          "a decoded chunk is not raw_bytes long");
  }

  // A header whose raw_bytes is the content's size is a real chunk when compressed.
  const std::string compressed = buildhist::internal::compress_chunk(content, 1 + data[0] % 5);
  std::string round_trip;
  check(buildhist::internal::decode_chunk(ChunkCodec::kZstd, compressed,
                                          static_cast<std::int64_t>(content.size()),
                                          round_trip) == content,
        "a compressed chunk does not decode to its text");

  std::size_t line_bytes = 0;
  buildhist::internal::for_each_line(content, [&](std::string_view line) {
    line_bytes += line.size() + 1;
  });
  check(line_bytes == content.size() + (content.empty() || content.back() == '\n' ? 0 : 1),
        "for_each_line lost or invented bytes");
  return 0;
}
