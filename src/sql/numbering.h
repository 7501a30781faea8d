// Who numbers a builder's builds, when several processes write one store.
//
// Numbering in memory is what makes start_build cheap: a process that is alone on
// a builder numbers its builds itself and writes them with its group commits. That
// is safe only while no other process numbers the same builder, so a process first
// takes the builder's numbering (a row in `numbering` naming it, the holder). A
// second process that wants the builder asks for it (sets `wanted`); the holder's
// writer sees the request at its next commit (or poll), stops numbering in memory,
// and queues a release behind the builds it already numbered. From then on the
// builder is shared (holder ''): every process numbers its builds through the
// database, one short transaction a build that inserts the build's row with
// max(number) + 1, so no number is ever given twice. A builder nobody has numbered
// through the database for a while may be taken again by one process.
//
// A holder that died (its process is gone) is taken over: what it numbered but had
// not committed died with it, so max(number) is the truth again.
#ifndef BUILDHIST_SQL_NUMBERING_H_
#define BUILDHIST_SQL_NUMBERING_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/records.h"

namespace buildhist::internal {

class Connection;

// How long after the last build numbered through the database a shared builder may
// be taken by one process again.
constexpr std::int64_t kSharedQuietSeconds = 10;

enum class Numbering {
  kHeld,     // this process numbers the builder in memory
  kShared,   // every process numbers it through the database
  kWaiting,  // another live process holds it; it has been asked to hand it over
};

struct NumberingState {
  std::int64_t builder_id = 0;
  int last_number = 0;  // the builder's largest build number in the store
  Numbering numbering = Numbering::kShared;
  std::string other;  // with kWaiting: the holder
};

// Answers whether the process that wrote `holder` is known to be gone.
using HolderIsGone = std::function<bool(const std::string& holder)>;

// In one transaction: creates the builder if it is new, and takes its numbering
// for `holder` if it is free, shared and quiet, or held by a process that is gone;
// otherwise asks the holder for it.
NumberingState acquire_numbering(Connection& connection, std::string_view builder,
                                 const std::string& holder, const HolderIsGone& gone,
                                 std::int64_t now);

// A build numbered through the database.
struct ClaimedBuild {
  std::int64_t id = 0;
  int number = 0;
};
struct BuildClaim {
  std::int64_t builder_id = 0;
  std::string_view builder;
  std::optional<int> number;  // else max(number) + 1
  const BuildRecord* record = nullptr;  // all but number
  const std::vector<Property>* properties = nullptr;
};

// In one transaction, for a shared builder: inserts the build's row and properties
// with the next number. nullopt (with `waiting_for` set) if another live process
// holds the builder now; it has been asked to hand it over. Throws
// Error(kInvalidArgument) for a claim.number not above the builder's numbers.
std::optional<ClaimedBuild> claim_build(Connection& connection, const BuildClaim& claim,
                                        const HolderIsGone& gone, std::int64_t now,
                                        std::string& waiting_for);

// For a writer that inserts builds with numbers of their own (an import), inside its
// transaction, before it inserts any: makes the builder shared as of `now`, so that
// no process takes it to number in memory until it has been quiet again, and any
// process that numbers it meanwhile numbers after what was imported. Returns the
// holder when another live process numbers it in memory: it has been asked to hand
// it over; the writer must commit (the request), wait, and try again.
std::optional<std::string> share_numbering(Connection& connection, std::int64_t builder_id,
                                           const HolderIsGone& gone, std::int64_t now);

// The builder's holder now ('' shared), or nullopt when nobody holds it.
std::optional<std::string> numbering_holder(Connection& connection, std::int64_t builder_id);

// Builders held by `holder` that another process asked for. Inside a transaction
// or not.
std::vector<std::int64_t> numbering_wanted(Connection& connection, const std::string& holder);

// Makes a builder `holder` holds shared. Inside the writer's transaction.
void release_numbering(Connection& connection, std::int64_t builder_id, const std::string& holder);

// Gives back every builder `holder` holds (a store closing cleanly).
void release_all_numbering(Connection& connection, const std::string& holder);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_NUMBERING_H_
