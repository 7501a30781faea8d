// Waiting for another process to hand over the numbering of a builder (see
// sql/numbering.h): shared by a master's store, which asks before it numbers a
// build, and an import, which asks before it writes builds with their own numbers.
#ifndef BUILDHIST_STORE_HANDOVER_H_
#define BUILDHIST_STORE_HANDOVER_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace buildhist::internal {

// Reads who numbers the builder now ('' shared, nullopt nobody).
using ReadHolder = std::function<std::optional<std::string>()>;

// Returns once `holder` no longer numbers the builder: it handed it over, someone
// else took it, or its process is gone. The holder's writer looks for requests at
// each commit and at least every 100 ms, so the table is polled, backing off to
// 50 ms. Throws Error(kBusy) after max(limit, 1 s), naming `what` and the holder.
void wait_for_handover(const ReadHolder& read_holder, const std::string& holder,
                       std::chrono::milliseconds limit, const std::string& what);

}  // namespace buildhist::internal

#endif  // BUILDHIST_STORE_HANDOVER_H_
