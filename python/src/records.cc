// The enums and plain records, as read-only Python classes. A record is a copy:
// changing the store later does not change a record already returned.
#include <string>

#include "bindings.h"
#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/options.h"
#include "buildhist/results.h"
#include "buildhist/stats.h"

namespace buildhist::python {

LogType log_type_from_code(const std::string& code) {
  if (code == "s") return LogType::kStdio;
  if (code == "t") return LogType::kText;
  if (code == "h") return LogType::kHtml;
  throw Error(ErrorCode::kInvalidArgument,
              "a log type is \"s\", \"t\" or \"h\", not \"" + code + "\"");
}

std::string log_type_code(LogType type) { return std::string(1, static_cast<char>(type)); }

namespace {

void bind_enums(py::module_& m) {
  py::enum_<Results>(m, "Results")
      .value("SUCCESS", Results::kSuccess)
      .value("WARNINGS", Results::kWarnings)
      .value("FAILURE", Results::kFailure)
      .value("SKIPPED", Results::kSkipped)
      .value("EXCEPTION", Results::kException)
      .value("RETRY", Results::kRetry)
      .value("CANCELLED", Results::kCancelled);
  m.def("results_name", [](Results r) { return std::string(results_name(r)); },
        "buildbot's name of a result: 'success', 'warnings', ...");
  m.def("results_from_code", &results_from_code, py::arg("code"),
        "The Results of a buildbot result code; Error(INVALID_ARGUMENT) for another.");

  py::enum_<Durability>(m, "Durability")
      .value("BUFFERED", Durability::kBuffered)
      .value("IMMEDIATE", Durability::kImmediate);
  py::enum_<Sync>(m, "Sync")
      .value("PROCESS_CRASH", Sync::kProcessCrash)
      .value("POWER_LOSS", Sync::kPowerLoss);
}

void bind_write_records(py::module_& m) {
  py::class_<Property>(m, "Property")
      .def(py::init<std::string, std::string, std::string>(), py::arg("name"),
           py::arg("value"), py::arg("source") = "")
      .def_readonly("name", &Property::name)
      .def_readonly("value", &Property::value, "JSON text")
      .def_readonly("source", &Property::source)
      .def("__eq__", [](const Property& a, const Property& b) { return a == b; })
      .def("__repr__", [](const Property& p) {
        return "Property(" + p.name + "=" + p.value + ", " + p.source + ")";
      });
  py::class_<Url>(m, "Url")
      .def_readonly("name", &Url::name)
      .def_readonly("url", &Url::url)
      .def("__eq__", [](const Url& a, const Url& b) { return a == b; });
  py::class_<LogRecord>(m, "LogRecord")
      .def_readonly("slug", &LogRecord::slug)
      .def_readonly("name", &LogRecord::name)
      .def_property_readonly("type", [](const LogRecord& r) { return log_type_code(r.type); })
      .def_readonly("num_lines", &LogRecord::num_lines)
      .def_readonly("complete", &LogRecord::complete)
      .def_readonly("purged_at", &LogRecord::purged_at)
      .def("__eq__", [](const LogRecord& a, const LogRecord& b) { return a == b; });
  py::class_<StepRecord>(m, "StepRecord")
      .def_readonly("number", &StepRecord::number)
      .def_readonly("name", &StepRecord::name)
      .def_readonly("started_at", &StepRecord::started_at)
      .def_readonly("complete_at", &StepRecord::complete_at)
      .def_readonly("state_string", &StepRecord::state_string)
      .def_readonly("results", &StepRecord::results)
      .def_readonly("urls", &StepRecord::urls)
      .def_readonly("hidden", &StepRecord::hidden)
      .def("__eq__", [](const StepRecord& a, const StepRecord& b) { return a == b; });
  py::class_<BuildRecord>(m, "BuildRecord")
      .def_readonly("builder", &BuildRecord::builder)
      .def_readonly("number", &BuildRecord::number)
      .def_readonly("worker", &BuildRecord::worker)
      .def_readonly("started_at", &BuildRecord::started_at)
      .def_readonly("complete_at", &BuildRecord::complete_at)
      .def_readonly("state_string", &BuildRecord::state_string)
      .def_readonly("results", &BuildRecord::results)
      .def("__eq__", [](const BuildRecord& a, const BuildRecord& b) { return a == b; })
      .def("__repr__", [](const BuildRecord& r) {
        return "BuildRecord(" + r.builder + "/" + std::to_string(r.number) + ")";
      });
}

void bind_query_records(py::module_& m) {
  py::class_<BuilderSummary>(m, "BuilderSummary")
      .def_readonly("name", &BuilderSummary::name)
      .def_readonly("builds", &BuilderSummary::builds)
      .def_readonly("newest", &BuilderSummary::newest)
      .def_readonly("newest_results", &BuilderSummary::newest_results)
      .def_readonly("newest_complete_at", &BuilderSummary::newest_complete_at);
  py::class_<StepDetail>(m, "StepDetail")
      .def_readonly("step", &StepDetail::step)
      .def_readonly("logs", &StepDetail::logs);
  py::class_<BuildDetail>(m, "BuildDetail")
      .def_readonly("build", &BuildDetail::build)
      .def_readonly("properties", &BuildDetail::properties)
      .def_readonly("steps", &BuildDetail::steps);
  py::class_<LogDetail>(m, "LogDetail")
      .def_readonly("id", &LogDetail::id)
      .def_property_readonly("reference",
                             [](const LogDetail& d) { return format_reference(d.reference); })
      .def_readonly("step_name", &LogDetail::step_name)
      .def_readonly("log", &LogDetail::log);
  py::class_<StoreStats>(m, "StoreStats")
      .def_readonly("schema_version", &StoreStats::schema_version)
      .def_readonly("rows", &StoreStats::rows)
      .def_readonly("db_bytes", &StoreStats::db_bytes)
      .def_readonly("wal_bytes", &StoreStats::wal_bytes)
      .def_readonly("log_raw_bytes", &StoreStats::log_raw_bytes)
      .def_readonly("log_stored_bytes", &StoreStats::log_stored_bytes)
      .def_readonly("log_compression_ratio", &StoreStats::log_compression_ratio);
  py::class_<Problem>(m, "Problem")
      .def_readonly("where", &Problem::where)
      .def_readonly("what", &Problem::what);
  py::class_<CacheStats>(m, "CacheStats")
      .def_readonly("hits", &CacheStats::hits)
      .def_readonly("misses", &CacheStats::misses)
      .def_readonly("refaults", &CacheStats::refaults)
      .def_readonly("evictions", &CacheStats::evictions)
      .def_readonly("resident_builds", &CacheStats::resident_builds)
      .def_readonly("live_builds", &CacheStats::live_builds)
      .def_readonly("live_steps", &CacheStats::live_steps)
      .def_readonly("live_logs", &CacheStats::live_logs)
      .def_readonly("sql_statements", &CacheStats::sql_statements)
      .def_readonly("commits", &CacheStats::commits)
      .def_readonly("writes", &CacheStats::writes);
}

}  // namespace

void bind_records(py::module_& m) {
  bind_enums(m);
  bind_write_records(m);
  bind_query_records(m);
}

}  // namespace buildhist::python
