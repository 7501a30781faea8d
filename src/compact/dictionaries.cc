// The dictionary policy. zstd compresses a chunk on its own; a builder's logs
// repeat each other almost line for line from build to build, so a dictionary
// trained on them gives each chunk that shared context.
//
// - Sample: the logs of up to kSampledBuilds builds spread evenly over the
//   builder's newest kWindowBuilds finished builds, each log's first
//   kSampleLogBytes of text, kSampleBytes in all.
// - Train a dictionary of up to kDictionaryBytes, and at most an eighth of the
//   sample (a small builder gets a small one); none when the sample is under
//   kMinSampleBytes or kMinSamples logs: plain zstd then. ZDICT's fastCover with
//   fixed parameters (segments of kSegmentBytes, d = 8): on the reference
//   workload it compressed better than ZDICT_trainFromBuffer's search of them
//   (27.2 MB against 28.3 MB for 10 x 1000 builds) in no more time.
// - Retrain when the builder's newest dictionary is kWindowBuilds builds old
//   (its newest build number, less the one it was trained through): the logs
//   drift with the code a builder builds, and a dictionary of the last window's
//   logs fits the next window's. Logs keep the dictionary they were compressed
//   with (a chunk of codec 2 with any of the builder's dictionaries is not
//   recompressed), so a retrain costs one training, never a rewrite of history.
// - A dictionary no chunk uses any more, but the builder's newest, is deleted
//   after the builder's logs are recompressed (sql/dictionary_rows.h); the
//   schema refuses to delete one a chunk uses.
#include "compact/dictionaries.h"

// ZDICT_trainFromBuffer_fastCover (exported by libzstd 1.3.6 and later) is in
// the static-linking-only part of zdict.h.
#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>

#include <algorithm>
#include <string>
#include <vector>

#include "buildhist/error.h"
#include "util/chunk_decoder.h"
#include "sql/connection.h"
#include "sql/dictionary_cache.h"
#include "sql/dictionary_rows.h"

namespace buildhist::internal {

namespace {

constexpr int kWindowBuilds = 1000;
constexpr int kSampledBuilds = 200;
constexpr std::size_t kSampleLogBytes = 64 << 10;
constexpr std::size_t kSampleBytes = 4 << 20;
constexpr std::size_t kMinSampleBytes = 32 << 10;
constexpr std::size_t kMinSamples = 8;
constexpr std::size_t kDictionaryBytes = 110 << 10;  // zstd's own default size
constexpr unsigned kSegmentBytes = 1024;
// Enough logs to fill kSampleBytes with typical logs, read one at a time.
constexpr int kMaxSampleLogs = 4096;

struct Sample {
  std::string text;                 // the samples, one after another
  std::vector<std::size_t> sizes;   // each sample's size, as ZDICT wants them
};

// The builder's sample, as the policy says.
Sample read_sample(Connection& connection, std::int64_t builder_id, int newest) {
  const int from = std::max(1, newest - kWindowBuilds + 1);
  const int stride = std::max(1, (newest - from + 1) / kSampledBuilds);
  Sample sample;
  ChunkDecoder decoder;
  for (const std::int64_t log :
       sample_logs(connection, builder_id, from, newest, stride, kMaxSampleLogs)) {
    const std::size_t start = sample.text.size();
    const std::size_t room = std::min(kSampleLogBytes, kSampleBytes - start);
    guard_sql("read a log to train on", [&] {
      for (const StoredChunk& chunk : read_chunks(connection, log)) {
        const std::string_view text =
            decoder.decode(chunk.codec, chunk.content, chunk.raw_bytes,
                           connection.dictionaries().find(chunk.dictionary_id));
        sample.text.append(text.substr(0, room - (sample.text.size() - start)));
        if (sample.text.size() - start == room) break;
      }
    });
    if (sample.text.size() > start) sample.sizes.push_back(sample.text.size() - start);
    if (sample.text.size() == kSampleBytes) break;
  }
  return sample;
}

// A dictionary trained on `sample`; empty when there is too little to train on,
// or ZDICT finds nothing to learn.
std::string train(const Sample& sample, int level) {
  if (sample.text.size() < kMinSampleBytes || sample.sizes.size() < kMinSamples) return {};
  std::string dictionary(std::min(kDictionaryBytes, sample.text.size() / 8), '\0');
  ZDICT_fastCover_params_t params{};
  params.k = kSegmentBytes;
  params.d = 8;
  params.zParams.compressionLevel = level;
  const std::size_t size = ZDICT_trainFromBuffer_fastCover(
      dictionary.data(), dictionary.size(), sample.text.data(), sample.sizes.data(),
      static_cast<unsigned>(sample.sizes.size()), params);
  if (ZDICT_isError(size)) return {};
  dictionary.resize(size);
  return dictionary;
}

}  // namespace

std::unique_ptr<ChunkEncoder> LogCompressor::take_encoder() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<ChunkEncoder> encoder = std::move(idle_.back());
      idle_.pop_back();
      return encoder;
    }
  }
  return has_dictionary() ? std::make_unique<ChunkEncoder>(level_, dictionary_)
                          : std::make_unique<ChunkEncoder>(level_);
}

void LogCompressor::give_back(std::unique_ptr<ChunkEncoder> encoder) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(encoder));
}

void LogCompressor::compress(std::string_view text, StoredChunk& chunk) {
  std::unique_ptr<ChunkEncoder> encoder = take_encoder();
  chunk.content = encoder->encode(text);
  const ChunkCodec codec = encoder->codec();
  give_back(std::move(encoder));
  if (chunk.content.size() < text.size()) {
    chunk.codec = codec;
    chunk.dictionary_id = codec == ChunkCodec::kZstdDictionary ? dictionary_id_ : std::nullopt;
  } else {
    chunk.codec = ChunkCodec::kText;
    chunk.content = text;
    chunk.dictionary_id.reset();
  }
}

DictionaryChoice choose_compressor(Connection& connection, std::int64_t builder_id, int newest,
                                   int level, bool use_dictionaries, bool may_train,
                                   std::int64_t now) {
  DictionaryChoice choice;
  if (!use_dictionaries) {
    choice.compressor = std::make_unique<LogCompressor>(level);
    return choice;
  }
  std::optional<DictionaryRow> current = newest_dictionary(connection, builder_id);
  const bool stale = !current || newest - current->trained_through >= kWindowBuilds;
  if (stale && may_train) {
    const std::string trained = train(read_sample(connection, builder_id, newest), level);
    if (!trained.empty()) {
      const std::int64_t id = insert_dictionary(connection, builder_id, now, newest, trained);
      current = DictionaryRow{id, now, newest, trained};
      choice.trained = true;
    }
  }
  choice.compressor = current ? std::make_unique<LogCompressor>(level, current->id, current->bytes)
                              : std::make_unique<LogCompressor>(level);
  return choice;
}

}  // namespace buildhist::internal
