// Retention: deleting the builds, or only the log text, that the policy no longer
// keeps, a batch of builds a step (see compaction.h for the invariants).
#ifndef BUILDHIST_COMPACT_RETENTION_H_
#define BUILDHIST_COMPACT_RETENTION_H_

#include "compact/compaction.h"

namespace buildhist::internal {

// Deletes the builder's builds beyond options().keep_builds or finished longer
// ago than options().older_than.
void delete_builds(Compaction& compaction, const BuilderRange& builder);

// Deletes the log text of the builder's builds finished longer ago than
// options().logs_older_than.
void purge_logs(Compaction& compaction, const BuilderRange& builder);

}  // namespace buildhist::internal

#endif  // BUILDHIST_COMPACT_RETENTION_H_
