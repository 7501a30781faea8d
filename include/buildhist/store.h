// buildhist: a build-history store.
//
// A Store is one SQLite file in WAL mode, a cache of status objects over it (one
// shard per builder, a bounded LRU of builds in each), and a writer thread that
// persists writes in order, many to a transaction (group commit).
//
// Thread-safety: every method may be called from any thread. Several processes
// may write one store at once (a master and an import, masters on distinct
// builders, even on one builder: build numbers are never given twice); any number
// may read it (see History).
#ifndef BUILDHIST_STORE_H_
#define BUILDHIST_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/options.h"
#include "buildhist/records.h"
#include "buildhist/stats.h"
#include "buildhist/status.h"

namespace buildhist {

namespace internal {
class StoreImpl;
struct StoreAccess;
}

// The current schema version of a store this buildhist writes.
int schema_version() noexcept;

// What a new build starts with.
struct BuildStart {
  std::string worker;
  std::int64_t started_at = 0;
  std::string state_string = "starting";
  std::vector<Property> properties;
  // The build's number, for a master that numbers builds itself (buildbot, an
  // import): it must be above every number the builder has had. Without it the
  // build is numbered after the builder's last one.
  std::optional<int> number;
};

// A page of a builder's history: newest first, numbers below `before` if given.
struct HistoryPage {
  int limit = 20;
  std::optional<int> before;
};

class Store {
 public:
  // Opens the store at `path`, creating it if it does not exist (unless
  // options.read_only or !options.create_if_missing) and migrating an older store
  // one migration at a time, each in its own transaction.
  // Throws Error: kTooNew for a store made by a newer buildhist (left untouched),
  // kCorrupt for a file that is not a buildhist store, kIO for a path that cannot
  // be opened (a directory, a missing file when not creating), kBusy when locked.
  static std::unique_ptr<Store> open(const std::string& path, const Options& options = {});

  // Waits for every write to be committed, stops the writer and drops the cache.
  // Objects still referenced from outside stay readable; writing to them throws.
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const noexcept;
  const Options& options() const noexcept;

  // Starts build number N+1 of `builder` (creating the builder on first use).
  // REQUIRES: `builder` is not empty and has no control characters; not read-only.
  std::shared_ptr<Build> start_build(std::string_view builder, const BuildStart& start,
                                     Durability durability = Durability::kBuffered);

  // The build, live or loaded through the cache; nullptr when the store has none.
  std::shared_ptr<Build> build(std::string_view builder, int number);

  // A page of the builder's builds through the cache, so each is the live object,
  // at a constant number of SQL statements whatever the page size. Empty when the
  // builder does not exist.
  std::vector<std::shared_ptr<Build>> history(std::string_view builder,
                                              const HistoryPage& page = {});

  // Returns once every write made before the call is committed. Throws Error if
  // the writer has failed: what it had not committed is lost, and said so.
  void flush();

  CacheStats stats() const;

 private:
  friend struct internal::StoreAccess;  // the library's own layers above the store

  explicit Store(std::shared_ptr<internal::StoreImpl> impl);

  std::shared_ptr<internal::StoreImpl> impl_;
};

}  // namespace buildhist

#endif  // BUILDHIST_STORE_H_
