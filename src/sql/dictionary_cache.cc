#include "sql/dictionary_cache.h"

#include <cassert>
#include <string>
#include <string_view>

#include "buildhist/error.h"
#include "sql/connection.h"

namespace buildhist::internal {

const ZSTD_DDict_s* DictionaryCache::find(std::optional<std::int64_t> id) {
  const auto dictionary = share(id);
  return dictionary ? dictionary->get() : nullptr;
}

std::shared_ptr<const DecodingDictionary> DictionaryCache::share(std::optional<std::int64_t> id) {
  if (!id) return nullptr;
  if (const auto it = by_id_.find(*id); it != by_id_.end()) {
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second->dictionary;
  }
  auto dictionary = guard_sql("read zstd dictionary " + std::to_string(*id), [&] {
    auto& query = connection_.statement("SELECT bytes FROM zstd_dictionary WHERE id = ?");
    query.bind(1, static_cast<std::int64_t>(*id));
    if (!query.executeStep()) {
      throw Error(ErrorCode::kCorrupt, connection_.path() + ": a log chunk names zstd dictionary " +
                                           std::to_string(*id) + ", which the store does not have");
    }
    const auto bytes = query.getColumn(0);
    auto digested = std::make_shared<const DecodingDictionary>(
        std::string_view(static_cast<const char*>(bytes.getBlob()),
                         static_cast<std::size_t>(bytes.getBytes())));
    query.reset();
    return digested;
  });
  if (entries_.size() == kCapacity) {
    by_id_.erase(entries_.back().id);
    entries_.pop_back();
  }
  entries_.push_front(Entry{*id, std::move(dictionary)});
  by_id_.emplace(*id, entries_.begin());
  assert(entries_.size() == by_id_.size() && entries_.size() <= kCapacity);
  return entries_.front().dictionary;
}

}  // namespace buildhist::internal
