#include "transfer/chunk_decoder.h"

#include <bzlib.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>
#include <brotli/decode.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "buildhist/error.h"

namespace buildhist::transfer {

namespace {

[[noreturn]] void corrupt(const char* codec, const std::string& why) {
  throw Error(ErrorCode::kCorrupt, std::string(codec) + " chunk does not decode: " + why);
}

// Runs a streaming decoder that fills `out` a buffer at a time; `step` returns
// true when the stream has ended. `out` grows to one byte beyond the bound at
// most: a stream that fills that byte decodes to more than the bound.
template <typename Step>
void grow_into(std::string& out, Step&& step) {
  constexpr std::size_t kCapacity = kMaxBuildbotChunkText + 1;
  out.clear();
  std::size_t produced = 0;
  bool ended = false;
  while (!ended && produced < kCapacity) {
    if (out.size() - produced < 16384) out.resize(std::min(out.size() + 65536, kCapacity));
    ended = step(out.data() + produced, out.size() - produced, produced);
  }
  if (produced > kMaxBuildbotChunkText) corrupt("compressed", "larger than 1 MiB decoded");
  out.resize(produced);
}

// Each decoder's state is owned by a guard, so that it is freed however decoding
// ends: at the end of the stream, on damage, or when grow_into refuses a bomb.
template <typename State, auto End>
struct Ended {
  State* state;
  ~Ended() { End(state); }
};

void inflate_zlib(std::string_view in, std::string& out) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) corrupt("gz", "zlib would not start");
  const Ended<z_stream, inflateEnd> end{&z};
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  grow_into(out, [&](char* at, std::size_t room, std::size_t& produced) {
    z.next_out = reinterpret_cast<Bytef*>(at);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (rc == Z_STREAM_END) return true;
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0)) {
      corrupt("gz", z.msg != nullptr ? z.msg : "truncated zlib stream");
    }
    return false;
  });
}

void decompress_bz2(std::string_view in, std::string& out) {
  bz_stream bz{};
  if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK) corrupt("bz2", "libbz2 would not start");
  const Ended<bz_stream, BZ2_bzDecompressEnd> end{&bz};
  bz.next_in = const_cast<char*>(in.data());
  bz.avail_in = static_cast<unsigned>(in.size());
  grow_into(out, [&](char* at, std::size_t room, std::size_t& produced) {
    bz.next_out = at;
    bz.avail_out = static_cast<unsigned>(room);
    const int rc = BZ2_bzDecompress(&bz);
    produced += room - bz.avail_out;
    if (rc == BZ_STREAM_END) return true;
    if (rc != BZ_OK || (bz.avail_in == 0 && bz.avail_out != 0)) {
      corrupt("bz2", "damaged or truncated stream (" + std::to_string(rc) + ")");
    }
    return false;
  });
}

void decompress_lz4(std::string_view in, std::string& out) {
  if (in.size() < 4) corrupt("lz4", "shorter than its size header");
  const auto* bytes = reinterpret_cast<const unsigned char*>(in.data());
  const std::uint32_t size = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) |
                             (static_cast<std::uint32_t>(bytes[3]) << 24);
  if (size > kMaxBuildbotChunkText) corrupt("lz4", "a size header of " + std::to_string(size));
  out.resize(size);
  const int n = LZ4_decompress_safe(in.data() + 4, out.data(), static_cast<int>(in.size() - 4),
                                    static_cast<int>(size));
  if (n < 0 || static_cast<std::uint32_t>(n) != size) corrupt("lz4", "damaged block");
}

void decompress_zstd(std::string_view in, std::string& out) {
  ZSTD_DStream* z = ZSTD_createDStream();
  if (z == nullptr) corrupt("zstd", "out of memory");
  const Ended<ZSTD_DStream, ZSTD_freeDStream> end{z};
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  grow_into(out, [&](char* at, std::size_t room, std::size_t& produced) {
    ZSTD_outBuffer output{at, room, 0};
    const std::size_t rc = ZSTD_decompressStream(z, &output, &input);
    produced += output.pos;
    if (ZSTD_isError(rc)) corrupt("zstd", ZSTD_getErrorName(rc));
    if (rc == 0) return true;
    if (input.pos == input.size && output.pos < output.size) corrupt("zstd", "truncated frame");
    return false;
  });
}

void decompress_brotli(std::string_view in, std::string& out) {
  BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  if (state == nullptr) corrupt("brotli", "out of memory");
  const Ended<BrotliDecoderState, BrotliDecoderDestroyInstance> end{state};
  const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
  std::size_t avail_in = in.size();
  grow_into(out, [&](char* at, std::size_t room, std::size_t& produced) {
    auto* next_out = reinterpret_cast<std::uint8_t*>(at);
    std::size_t avail_out = room;
    const BrotliDecoderResult rc =
        BrotliDecoderDecompressStream(state, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    produced += room - avail_out;
    if (rc == BROTLI_DECODER_RESULT_SUCCESS) return true;
    if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) return false;
    corrupt("brotli", rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ? "truncated stream"
                                                                   : "damaged stream");
  });
}

}  // namespace

std::string_view decode_buildbot_chunk(int compressed, std::string_view content,
                                       std::string& scratch) {
  switch (compressed) {
    case 0:
      return content;
    case 1:
      inflate_zlib(content, scratch);
      break;
    case 2:
      decompress_bz2(content, scratch);
      break;
    case 3:
      decompress_lz4(content, scratch);
      break;
    case 4:
      decompress_zstd(content, scratch);
      break;
    case 5:
      decompress_brotli(content, scratch);
      break;
    default:
      throw Error(ErrorCode::kCorrupt, "unknown chunk compression " + std::to_string(compressed));
  }
  return scratch;
}

}  // namespace buildhist::transfer
