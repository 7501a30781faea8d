// compact's zstd dictionaries: one per builder, trained on a sample of its
// finished logs, and the compressor that writes a log's chunks with it (codec 2),
// or with plain zstd (codec 1) while the builder has none. The policy (when to
// train, what to sample, when to retrain) is stated once, in dictionaries.cc.
#ifndef BUILDHIST_COMPACT_DICTIONARIES_H_
#define BUILDHIST_COMPACT_DICTIONARIES_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/chunk_encoder.h"
#include "sql/maintenance.h"

namespace buildhist::internal {

class Connection;

// Compresses one builder's log text into chunks. Thread-safe: each call uses a
// zstd encoder no other call is using (the compression pool's threads share one
// compressor), and encoders are kept for the next call, so that a dictionary is
// digested once a thread, not once a chunk.
class LogCompressor {
 public:
  // Plain zstd at `level`.
  explicit LogCompressor(int level) : level_(level) {}
  // zstd at `level` with the dictionary stored as `dictionary_id`.
  LogCompressor(int level, std::int64_t dictionary_id, std::string dictionary)
      : level_(level), dictionary_id_(dictionary_id), dictionary_(std::move(dictionary)) {}
  LogCompressor(const LogCompressor&) = delete;
  LogCompressor& operator=(const LogCompressor&) = delete;

  bool has_dictionary() const noexcept { return dictionary_id_.has_value(); }

  // Sets `chunk`'s codec, content and dictionary_id for `text` (its lines and
  // raw_bytes are the caller's): compressed, or the text itself when compressing
  // would not make it smaller.
  void compress(std::string_view text, StoredChunk& chunk);

 private:
  std::unique_ptr<ChunkEncoder> take_encoder();
  void give_back(std::unique_ptr<ChunkEncoder> encoder);

  const int level_;
  const std::optional<std::int64_t> dictionary_id_;
  const std::string dictionary_;  // empty without a dictionary
  std::mutex mu_;
  std::vector<std::unique_ptr<ChunkEncoder>> idle_;  // guarded by mu_
};

struct DictionaryChoice {
  std::unique_ptr<LogCompressor> compressor;
  bool trained = false;  // a new dictionary was trained and stored for it
};

// The compressor for the logs of `builder` (id and newest build number): with
// its newest dictionary, trained first when the policy says so and `may_train`
// (not in a dry run, not with dictionaries turned off); with plain zstd when
// `use_dictionaries` is false or there is too little text to train on.
DictionaryChoice choose_compressor(Connection& connection, std::int64_t builder_id, int newest,
                                   int level, bool use_dictionaries, bool may_train,
                                   std::int64_t now);

}  // namespace buildhist::internal

#endif  // BUILDHIST_COMPACT_DICTIONARIES_H_
