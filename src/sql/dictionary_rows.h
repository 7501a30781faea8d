// The SQL of compact's zstd dictionaries (table zstd_dictionary): the newest of a
// builder, adding one, deleting those no chunk uses, and the logs to train on.
#ifndef BUILDHIST_SQL_DICTIONARY_ROWS_H_
#define BUILDHIST_SQL_DICTIONARY_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buildhist::internal {

class Connection;

struct DictionaryRow {
  std::int64_t id = 0;
  std::int64_t trained_at = 0;
  int trained_through = 0;  // the builder's newest build number when trained
  std::string bytes;
};

// The builder's newest dictionary (highest id), if it has one.
std::optional<DictionaryRow> newest_dictionary(Connection& connection, std::int64_t builder_id);

// Adds a dictionary of the builder, in one transaction; returns its id.
std::int64_t insert_dictionary(Connection& connection, std::int64_t builder_id,
                               std::int64_t trained_at, int trained_through,
                               std::string_view bytes);

// Deletes the builder's dictionaries that no chunk uses, but its newest (which
// the next logs will use): one statement, in the caller's transaction if any.
// Returns how many.
std::int64_t delete_unused_dictionaries(Connection& connection, std::int64_t builder_id);

// Complete logs with text of the builder's finished builds numbered from `from`
// through `through`, every `stride`-th build, newest first; at most `limit`.
std::vector<std::int64_t> sample_logs(Connection& connection, std::int64_t builder_id, int from,
                                      int through, int stride, int limit);

}  // namespace buildhist::internal

#endif  // BUILDHIST_SQL_DICTIONARY_ROWS_H_
