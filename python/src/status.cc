// Build, Step and Log as Python classes held by std::shared_ptr: a Python object
// holds the very handle a C++ caller holds, so the cache's identity map is the one
// authority on either side (one live object per key, whatever the path to it), and
// a Python object that is collected releases its handle like any C++ owner.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "bindings.h"
#include "buildhist/status.h"

namespace buildhist::python {
namespace {

constexpr Durability kBuffered = Durability::kBuffered;
using LineRow = std::pair<std::int64_t, std::string>;

void bind_build(py::module_& m) {
  py::class_<Build, std::shared_ptr<Build>>(m, "Build")
      .def_property_readonly("builder", &Build::builder)
      .def_property_readonly("number", &Build::number)
      .def("record", &Build::record, Unlocked())
      .def_property_readonly("complete", &Build::complete, Unlocked())
      .def("properties", &Build::properties, Unlocked())
      .def("property", &Build::property, py::arg("name"), Unlocked(),
           "The JSON text of the property, or None.")
      .def("steps", &Build::steps, Unlocked())
      .def("step", py::overload_cast<int>(&Build::step, py::const_), py::arg("number"),
           Unlocked())
      .def("step", py::overload_cast<std::string_view>(&Build::step, py::const_),
           py::arg("name"), Unlocked())
      .def("add_step", &Build::add_step, py::arg("name"), py::arg("started_at") = std::nullopt,
           py::arg("durability") = kBuffered, Unlocked())
      .def("set_property", &Build::set_property, py::arg("name"), py::arg("json_value"),
           py::arg("source"), py::arg("durability") = kBuffered, Unlocked())
      .def("set_state_string", &Build::set_state_string, py::arg("state_string"),
           py::arg("durability") = kBuffered, Unlocked())
      .def("finish", &Build::finish, py::arg("results"), py::arg("complete_at"),
           py::arg("durability") = kBuffered, Unlocked())
      .def("__repr__", [](const Build& b) {
        return "<buildhist.Build " + b.builder() + "/" + std::to_string(b.number()) + ">";
      });
}

void bind_step(py::module_& m) {
  py::class_<Step, std::shared_ptr<Step>>(m, "Step")
      .def_property_readonly("number", &Step::number)
      .def_property_readonly("builder", &Step::builder)
      .def_property_readonly("build_number", &Step::build_number)
      .def("record", &Step::record, Unlocked())
      .def("build", &Step::build, Unlocked(), "The live build, or the build refaulted.")
      .def("logs", &Step::logs, Unlocked())
      .def("log", &Step::log, py::arg("slug"), Unlocked())
      .def(
          "add_log",
          [](Step& step, std::string_view name, const std::string& type, Durability d) {
            const LogType log_type = log_type_from_code(type);
            py::gil_scoped_release unlocked;
            return step.add_log(name, log_type, d);
          },
          py::arg("name"), py::arg("type") = "s", py::arg("durability") = kBuffered)
      .def("start", &Step::start, py::arg("started_at"), py::arg("durability") = kBuffered,
           Unlocked())
      .def("set_state_string", &Step::set_state_string, py::arg("state_string"),
           py::arg("durability") = kBuffered, Unlocked())
      .def("add_url", &Step::add_url, py::arg("name"), py::arg("url"),
           py::arg("durability") = kBuffered, Unlocked())
      .def("set_hidden", &Step::set_hidden, py::arg("hidden"),
           py::arg("durability") = kBuffered, Unlocked())
      .def("finish", &Step::finish, py::arg("results"), py::arg("complete_at"),
           py::arg("durability") = kBuffered, Unlocked())
      .def("__repr__", [](const Step& s) {
        return "<buildhist.Step " + s.builder() + "/" + std::to_string(s.build_number()) +
               "/" + std::to_string(s.number()) + ">";
      });
}

void bind_log(py::module_& m) {
  bind_sink_iterator<LineRow>(m, "LineIterator");
  py::class_<Log, std::shared_ptr<Log>>(m, "Log")
      .def_property_readonly("slug", &Log::slug)
      .def_property_readonly("build_number", &Log::build_number)
      .def_property_readonly("step_number", &Log::step_number)
      .def("record", &Log::record, Unlocked())
      .def("step", &Log::step, Unlocked(), "The live step, or the step refaulted.")
      .def("append", &Log::append, py::arg("text"), py::arg("durability") = kBuffered,
           Unlocked())
      .def("finish", &Log::finish, py::arg("durability") = kBuffered, Unlocked())
      .def(
          "read",
          [](std::shared_ptr<Log> log, std::int64_t from, std::int64_t limit) {
            return std::make_shared<SinkIterator<LineRow>>(
                [log = std::move(log), from, limit](const SinkIterator<LineRow>::Sink& sink) {
                  log->read(from, limit, [&](const LogLine& line) {
                    return sink(LineRow(line.number, std::string(line.text)));
                  });
                });
          },
          py::arg("first") = 0, py::arg("limit") = 0,
          "Iterates (number, text) over lines [first, first + limit) (limit 0: to the "
          "end), once this log's appends are committed.");
}

}  // namespace

void bind_status(py::module_& m) {
  bind_build(m);
  bind_step(m);
  bind_log(m);
}

}  // namespace buildhist::python
