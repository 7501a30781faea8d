// buildhist: plain value records of what the store holds.
//
// A record is a copy: it is what a query streams, what a status object hands out as
// a snapshot, and what a refault is compared against, field by field. Times are UTC
// seconds since the epoch.
#ifndef BUILDHIST_RECORDS_H_
#define BUILDHIST_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buildhist/results.h"

namespace buildhist {

// A build property: `value` is JSON text (a string value is "\"quoted\"").
struct Property {
  std::string name;
  std::string value;
  std::string source;

  bool operator==(const Property&) const = default;
};

struct Url {
  std::string name;
  std::string url;

  bool operator==(const Url&) const = default;
};

enum class LogType : char {
  kStdio = 's',  // every line starts with a stream character: o, e or h
  kText = 't',
  kHtml = 'h',
};

struct LogRecord {
  std::string slug;
  std::string name;
  LogType type = LogType::kStdio;
  std::int64_t num_lines = 0;
  bool complete = false;
  // When `compact --logs-older-than` deleted the log's text; nullopt while it has
  // it. A purged log has no lines to read, and num_lines is the count it had.
  std::optional<std::int64_t> purged_at;

  bool operator==(const LogRecord&) const = default;
};

struct StepRecord {
  int number = 0;  // from 0 within its build, as buildbot numbers steps
  std::string name;
  std::optional<std::int64_t> started_at;
  std::optional<std::int64_t> complete_at;
  std::string state_string;
  std::optional<Results> results;  // nullopt while running
  std::vector<Url> urls;
  bool hidden = false;

  bool operator==(const StepRecord&) const = default;
};

struct BuildRecord {
  std::string builder;
  int number = 0;  // from 1 within its builder
  std::string worker;
  std::int64_t started_at = 0;
  std::optional<std::int64_t> complete_at;  // nullopt while running
  std::string state_string;
  std::optional<Results> results;  // nullopt while running

  bool operator==(const BuildRecord&) const = default;
};

// One line of a log. For a stdio log `text` still begins with its stream character.
struct LogLine {
  std::int64_t number = 0;  // from 0
  std::string_view text;
};

}  // namespace buildhist

#endif  // BUILDHIST_RECORDS_H_
