// One chunk of log text made ready for grep's search: decoded, a stdio chunk's
// stream characters set apart from its lines, and the lines that match found.
// This is the part of a search that needs no order, so it runs on any thread
// (query/grep_pipeline.h); the search itself takes the chunks in log order.
#ifndef BUILDHIST_QUERY_GREP_CHUNK_H_
#define BUILDHIST_QUERY_GREP_CHUNK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "query/grep_matcher.h"
#include "util/chunk_decoder.h"
#include "util/log_codec.h"

namespace buildhist::internal {

// A chunk as stored, with what decoding it needs.
struct StoredChunk {
  std::int64_t first_line = 0;
  ChunkCodec codec = ChunkCodec::kText;
  std::int64_t raw_bytes = 0;
  std::string content;
  std::shared_ptr<const DecodingDictionary> dictionary;  // codec 2's, else null
  bool stdio = false;  // each line starts with its stream character
  bool lines = true;   // the search needs the text, not only where the matches are
};

// A line of `ScannedChunk::text`: its first byte and its end (the newline's
// offset, or the text's size for a last line without one).
struct LineSpan {
  std::size_t start;
  std::size_t end;
};

struct ScannedChunk {
  std::int64_t first_line = 0;
  std::int64_t stored_bytes = 0;  // the decoded text's size, stream characters included
  std::string text;               // whole lines; a stdio chunk's without stream characters
  std::string streams;            // a stdio chunk's stream characters, one a line, else empty
  std::vector<LineSpan> matches;  // the lines that match, in order
};

// Decodes `stored` into `out` (whose buffers are reused) and finds its matching
// lines. When `stored.lines` is false and the pattern is a literal, a stdio chunk
// is searched as decoded, stream characters on, and `text`, `streams` and the
// spans' offsets are left unset: only how many lines match, and which, counts.
// Throws what decoding throws: Error(kCorrupt).
void scan_chunk(const GrepMatcher& matcher, ChunkDecoder& decoder, const StoredChunk& stored,
                ScannedChunk& out);

// The end of the line starting at `start`: its newline, or the text's end.
std::size_t line_end(std::string_view text, std::size_t start);

// The start of the line before the one starting at `start` (> 0).
std::size_t previous_line_start(std::string_view text, std::size_t start);

}  // namespace buildhist::internal

#endif  // BUILDHIST_QUERY_GREP_CHUNK_H_
