// The zstd dictionaries a connection has read, digested for decompression.
//
// A codec-2 chunk names its dictionary by id (log_chunk.dictionary_id); a reader
// loads each dictionary once and keeps it for the chunks after. Ids are never
// given twice (AUTOINCREMENT) and a dictionary row never changes, so an entry can
// never be stale; a dictionary deleted since is simply never asked for again.
// At most kCapacity entries: the least recently used goes first.
#ifndef BUILDHIST_SQL_DICTIONARY_CACHE_H_
#define BUILDHIST_SQL_DICTIONARY_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>

#include "util/chunk_decoder.h"

struct ZSTD_DDict_s;

namespace buildhist::internal {

class Connection;

// Used by its connection's thread only.
class DictionaryCache {
 public:
  // A reader of one store meets a few dictionaries a builder; a search across
  // builders in time order meets all of theirs in turn.
  static constexpr std::size_t kCapacity = 32;

  // Borrows `connection`, which owns the cache.
  explicit DictionaryCache(Connection& connection) noexcept : connection_(connection) {}

  // The digested dictionary `id` names, nullptr for none (a chunk of codec 0 or
  // 1). Valid until the next call. Throws Error(kCorrupt) when the store has no
  // dictionary with that id.
  const ZSTD_DDict_s* find(std::optional<std::int64_t> id);
  // The same, kept alive for as long as the caller holds it: for decoders on other
  // threads, which may still be using it after the cache has let it go.
  std::shared_ptr<const DecodingDictionary> share(std::optional<std::int64_t> id);

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::int64_t id;
    std::shared_ptr<const DecodingDictionary> dictionary;
  };

  Connection& connection_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::int64_t, std::list<Entry>::iterator> by_id_;
};

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_DICTIONARY_CACHE_H_
