#include "util/input_rules.h"

#include "buildhist/error.h"
#include "util/json_text.h"
#include "util/names.h"

namespace buildhist::internal {

namespace {

[[noreturn]] void refuse(std::string_view action, std::string_view field,
                         std::string_view problem) {
  throw Error(ErrorCode::kInvalidArgument, std::string(action) + ": the " + std::string(field) +
                                               " " + std::string(problem));
}

}  // namespace

void require_name(std::string_view action, std::string_view field, std::string_view name) {
  if (const auto problem = name_problem(name)) refuse(action, field, *problem);
}

void require_text(std::string_view action, std::string_view field, std::string_view text,
                  std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    refuse(action, field, "is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (const auto problem = text_problem(text)) refuse(action, field, *problem);
}

void require_bytes(std::string_view action, std::string_view field, std::string_view bytes,
                   std::size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    refuse(action, field, "is longer than " + std::to_string(max_bytes) + " bytes");
  }
}

void require_time(std::string_view action, std::string_view field, std::int64_t seconds) {
  if (seconds < kFirstSecond) refuse(action, field, std::to_string(seconds) + " is before 1970");
  if (seconds > kLastSecond) refuse(action, field, std::to_string(seconds) + " is after 9999");
}

void require_json(std::string_view action, std::string_view field, std::string_view json) {
  if (!is_json_value(json)) refuse(action, field, "is not one JSON value");
}

void require_results(std::string_view action, Results results) {
  const int code = static_cast<int>(results);
  if (code < 0 || code > static_cast<int>(Results::kCancelled)) {
    refuse(action, "results", "code " + std::to_string(code) + " is not one of buildbot's, 0 to 6");
  }
}

void require_build_start(std::string_view builder, const BuildStart& start) {
  const std::string action = "start a build of " + std::string(builder);
  require_name("start a build", "builder name", builder);
  require_bytes(action, "worker name", start.worker, kMaxNameBytes);
  require_time(action, "start time", start.started_at);
  require_text(action, "state string", start.state_string, kMaxTextBytes);
  if (start.number && *start.number < 1) {
    refuse(action, "build number", std::to_string(*start.number) + " is below 1");
  }
  for (const Property& property : start.properties) {
    if (property.name.empty()) refuse(action, "property name", "is empty");
    require_bytes(action, "property name", property.name, kMaxNameBytes);
    require_json(action, "value of property " + property.name, property.value);
    require_bytes(action, "source of property " + property.name, property.source, kMaxNameBytes);
  }
}

}  // namespace buildhist::internal
