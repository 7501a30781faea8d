// buildhist export and import: a store's builds as JSON Lines, and back.
#ifndef BUILDHIST_TRANSFER_JSONL_TRANSFER_H_
#define BUILDHIST_TRANSFER_JSONL_TRANSFER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/store.h"
#include "transfer/build_sink.h"

namespace buildhist::transfer {

struct ExportOptions {
  std::vector<std::string> builders;  // empty: every builder
  std::optional<std::int64_t> since;  // builds started at or after this time
  bool with_logs = false;
};

// Writes the builds, by builder and number, streamed. Throws Error(kNotFound) for
// a builder the store does not have, Error for a store that cannot be read.
void export_jsonl(Store& store, const ExportOptions& options, std::ostream& out);

struct ImportOptions {
  bool skip_bad = false;  // go on after a bad line (the build it belongs to is dropped)
  std::chrono::milliseconds busy_timeout{5000};
  std::function<void(std::string_view)> problem;  // one line for each bad line or refused build
};

// Reads `in` into the store at `path` (created if missing), one transaction a
// build. Without skip_bad it stops at the first bad line, keeping the builds
// before it. Throws Error for a store that cannot be written.
TransferCounts import_jsonl(const std::string& path, std::istream& in,
                            const ImportOptions& options);

}  // namespace buildhist::transfer

#endif  // BUILDHIST_TRANSFER_JSONL_TRANSFER_H_
