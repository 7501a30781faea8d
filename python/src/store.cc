// Store as a Python class held by std::shared_ptr. The store closes (waiting for
// every write, like ~Store) when the last Python reference to it goes, the
// Histories and iterators made from it included.
#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.h"
#include "buildhist/store.h"

namespace buildhist::python {
namespace {

using PropertyTuple = std::tuple<std::string, std::string, std::string>;

std::shared_ptr<Store> open_store(const std::string& path, std::size_t cache_capacity,
                                  std::int64_t busy_timeout_ms, bool read_only,
                                  bool create_if_missing, Sync sync, std::size_t max_batch) {
  Options options;
  options.cache_capacity = cache_capacity;
  options.busy_timeout = std::chrono::milliseconds(busy_timeout_ms);
  options.read_only = read_only;
  options.create_if_missing = create_if_missing;
  options.sync = sync;
  options.max_batch = max_batch;
  py::gil_scoped_release unlocked;
  return Store::open(path, options);
}

std::shared_ptr<Build> start_build(Store& store, std::string_view builder, std::string worker,
                                   std::int64_t started_at, std::string state_string,
                                   const std::vector<PropertyTuple>& properties,
                                   std::optional<int> number, Durability durability) {
  BuildStart start;
  start.worker = std::move(worker);
  start.started_at = started_at;
  start.state_string = std::move(state_string);
  start.number = number;
  for (const auto& [name, value, source] : properties) start.properties.push_back({name, value, source});
  py::gil_scoped_release unlocked;
  return store.start_build(builder, start, durability);
}

}  // namespace

void bind_store(py::module_& m) {
  const Options defaults;
  m.def("schema_version", &schema_version);
  py::class_<Store, std::shared_ptr<Store>>(m, "Store")
      .def_static("open", &open_store, py::arg("path"),
                  py::arg("cache_capacity") = defaults.cache_capacity,
                  py::arg("busy_timeout_ms") = defaults.busy_timeout.count(),
                  py::arg("read_only") = defaults.read_only,
                  py::arg("create_if_missing") = defaults.create_if_missing,
                  py::arg("sync") = defaults.sync, py::arg("max_batch") = defaults.max_batch)
      .def_property_readonly("path", &Store::path)
      .def("start_build", &start_build, py::arg("builder"), py::arg("worker") = "",
           py::arg("started_at") = 0, py::arg("state_string") = "starting",
           py::arg("properties") = std::vector<PropertyTuple>{},
           py::arg("number") = std::nullopt, py::arg("durability") = Durability::kBuffered,
           "Starts a build; `properties` are (name, json_value, source) tuples; "
           "`number`, if given, must be above every number the builder has had.")
      .def("build", &Store::build, py::arg("builder"), py::arg("number"), Unlocked(),
           "The build, live or loaded through the cache; None when there is none.")
      .def(
          "history",
          [](Store& store, std::string_view builder, int limit, std::optional<int> before) {
            py::gil_scoped_release unlocked;
            return store.history(builder, HistoryPage{limit, before});
          },
          py::arg("builder"), py::arg("limit") = 20, py::arg("before") = std::nullopt,
          "A page of the builder's builds through the cache, newest first.")
      .def("flush", &Store::flush, Unlocked(),
           "Returns once every write made before it is committed.")
      .def("stats", &Store::stats, Unlocked())
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Store& store, py::args) {
        py::gil_scoped_release unlocked;
        store.flush();
      });
}

}  // namespace buildhist::python
