// Fuzz target: decode_buildbot_chunk (src/transfer/chunk_decoder.h), buildbot's log
// chunks in every compression it writes, as a buildbot database could hold them.
//
// The input is a logchunks row: its first byte picks the `compressed` column (0 to
// 5, buildbot's codes, or 6 and -1, which are no code), the rest is its content.
// Invariants: a chunk that does not decode is refused with Error(kCorrupt) in one
// printable line, and nothing else, and the decoder's state is freed (LeakSanitizer
// says so); whatever the content claims to expand to, what decodes is at most
// kMaxBuildbotChunkText bytes (a bomb is refused once it gets there, and never
// allocated); a raw chunk is its content; and the content compressed as buildbot
// compresses it with that code decodes back to itself.
#include <brotli/encode.h>
#include <bzlib.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_check.h"
#include "transfer/chunk_decoder.h"

using buildhist::ErrorCode;
using buildhist::fuzz::check;

namespace {

// `text` as buildbot's master/buildbot/db/logs.py compresses it with `code`, at a
// low level (the decoder must not care); nullopt when the code compresses nothing.
std::optional<std::string> compressed(int code, std::string_view text) {
  std::string out;
  switch (code) {
    case 1: {  // zlib.compress
      uLongf size = compressBound(text.size());
      out.resize(size);
      check(compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                      reinterpret_cast<const Bytef*>(text.data()), text.size(), 1) == Z_OK,
            "zlib would not compress");
      out.resize(size);
      return out;
    }
    case 2: {  // bz2.compress
      auto size = static_cast<unsigned>(text.size() + text.size() / 100 + 600);
      out.resize(size);
      check(BZ2_bzBuffToBuffCompress(out.data(), &size, const_cast<char*>(text.data()),
                                     static_cast<unsigned>(text.size()), 1, 0, 0) == BZ_OK,
            "libbz2 would not compress");
      out.resize(size);
      return out;
    }
    case 3: {  // lz4.block.compress: the size, 4 bytes little-endian, then the block
      const int bound = LZ4_compressBound(static_cast<int>(text.size()));
      out.resize(4 + static_cast<std::size_t>(bound));
      for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(text.size() >> (8 * i));
      const int size = LZ4_compress_default(text.data(), out.data() + 4,
                                            static_cast<int>(text.size()), bound);
      check(size > 0 || text.empty(), "lz4 would not compress");
      out.resize(4 + static_cast<std::size_t>(size));
      return out;
    }
    case 4: {  // zstandard.compress
      out.resize(ZSTD_compressBound(text.size()));
      const std::size_t size = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 1);
      check(!ZSTD_isError(size), "zstd would not compress");
      out.resize(size);
      return out;
    }
    case 5: {  // brotli.compress
      std::size_t size = BrotliEncoderMaxCompressedSize(text.size());
      out.resize(size);
      check(BrotliEncoderCompress(1, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, text.size(),
                                  reinterpret_cast<const std::uint8_t*>(text.data()), &size,
                                  reinterpret_cast<std::uint8_t*>(out.data())) == BROTLI_TRUE,
            "brotli would not compress");
      out.resize(size);
      return out;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  buildhist::fuzz::InputReader input(data, size);
  const int code = input.byte() % 8 - 1;
  const std::string_view content = input.rest();

  std::string scratch;
  std::string_view text;
  if (buildhist::fuzz::refused_cleanly_or_ran(ErrorCode::kCorrupt, [&] {
        text = buildhist::transfer::decode_buildbot_chunk(code, content, scratch);
      })) {
    check(text.size() <= buildhist::transfer::kMaxBuildbotChunkText,
          "a chunk decoded to more than kMaxBuildbotChunkText");
    check(code != 0 || text == content, "a raw chunk is not its content");
  }

  if (const auto chunk = compressed(code, content)) {
    check(buildhist::transfer::decode_buildbot_chunk(code, *chunk, scratch) == content,
          "a compressed chunk does not decode to its text");
  }
  return 0;
}
