#include "query/grep_chunk.h"

#include <cassert>
#include <cstring>

namespace buildhist::internal {

std::size_t line_end(std::string_view text, std::size_t start) {
  const void* newline = std::memchr(text.data() + start, '\n', text.size() - start);
  return newline == nullptr
             ? text.size()
             : static_cast<std::size_t>(static_cast<const char*>(newline) - text.data());
}

std::size_t previous_line_start(std::string_view text, std::size_t start) {
  assert(start > 0 && text[start - 1] == '\n');
  const void* newline = start < 2 ? nullptr : memrchr(text.data(), '\n', start - 1);
  return newline == nullptr
             ? 0
             : static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) + 1;
}

namespace {

// `text`'s lines without their first character, each ended by a newline, into
// `plain`, and those characters into `streams` ('\0' for an empty line).
void split_streams(std::string_view text, std::string& plain, std::string& streams) {
  plain.resize(text.size() + 1);
  streams.clear();
  char* out = plain.data();
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = line_end(text, at);
    if (end > at) {
      streams.push_back(text[at]);
      std::memcpy(out, text.data() + at + 1, end - at - 1);
      out += end - at - 1;
    } else {
      streams.push_back('\0');
    }
    *out++ = '\n';
    at = end + 1;
  }
  plain.resize(static_cast<std::size_t>(out - plain.data()));
}

// The lines of stdio text `text`, stream characters on, in which literal `matcher`
// occurs after the stream character, into `matches` (offsets into `text`).
void match_stdio_lines(const GrepMatcher& matcher, std::string_view text,
                       std::vector<LineSpan>& matches) {
  std::size_t start = 0, end = 0;
  for (std::size_t at = 0; matcher.next_line(text, at, start, end); at = end + 1) {
    // The literal may have been found where it begins with the stream character:
    // it counts only if it is in the line's text.
    std::size_t unused_start, unused_end;
    if (end > start &&
        matcher.next_line(text.substr(start + 1, end - start - 1), 0, unused_start, unused_end)) {
      matches.push_back(LineSpan{start, end});
    }
  }
}

}  // namespace

void scan_chunk(const GrepMatcher& matcher, ChunkDecoder& decoder, const StoredChunk& stored,
                ScannedChunk& out) {
  const std::string_view decoded =
      decoder.decode(stored.codec, stored.content, stored.raw_bytes,
                     stored.dictionary ? stored.dictionary->get() : nullptr);
  out.first_line = stored.first_line;
  out.stored_bytes = static_cast<std::int64_t>(decoded.size());
  out.matches.clear();
  if (stored.stdio && !stored.lines && matcher.is_literal()) {
    out.text.clear();
    out.streams.clear();
    match_stdio_lines(matcher, decoded, out.matches);
    return;
  }
  if (stored.stdio) {
    split_streams(decoded, out.text, out.streams);
  } else {
    out.text.assign(decoded);
    out.streams.clear();
  }
  std::size_t start = 0, end = 0;
  for (std::size_t at = 0; matcher.next_line(out.text, at, start, end); at = end + 1) {
    out.matches.push_back(LineSpan{start, end});
  }
}

}  // namespace buildhist::internal
