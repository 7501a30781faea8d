// History, whose lists are Python iterators streamed from the query (SinkIterator):
// a list of any length costs at most one queue of rows in memory.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "bindings.h"
#include "buildhist/history.h"
#include "buildhist/store.h"

namespace buildhist::python {
namespace {

using LineRow = std::pair<std::int64_t, std::string>;

// A History and the Store it borrows, kept alive together by whoever holds either
// (the Python object, or an iterator's query).
struct StoreHistory {
  explicit StoreHistory(std::shared_ptr<Store> s) : store(std::move(s)), history(*store) {}
  std::shared_ptr<Store> store;
  History history;
};
using Handle = std::shared_ptr<StoreHistory>;

// An iterator over what `query(history, sink)` streams; the query holds `handle`.
template <typename Row, typename Query>
std::shared_ptr<SinkIterator<Row>> stream(Handle handle, Query query) {
  return std::make_shared<SinkIterator<Row>>(
      [handle = std::move(handle), query = std::move(query)](
          const typename SinkIterator<Row>::Sink& sink) { query(handle->history, sink); });
}

}  // namespace

void bind_history(py::module_& m) {
  bind_sink_iterator<BuilderSummary>(m, "BuilderIterator");
  bind_sink_iterator<BuildRecord>(m, "BuildIterator");
  bind_sink_iterator<Problem>(m, "ProblemIterator");
  py::class_<StoreHistory, Handle>(m, "History")
      .def(py::init<std::shared_ptr<Store>>(), py::arg("store"))
      .def("builders",
           [](Handle h) {
             return stream<BuilderSummary>(std::move(h), [](History& history, const auto& sink) {
               history.builders([&](const BuilderSummary& row) { return sink(row); });
             });
           })
      .def(
          "builds",
          [](Handle h, std::string builder, int limit, std::optional<int> before,
             std::optional<Results> results, std::optional<std::int64_t> since,
             std::optional<std::int64_t> until) {
            const BuildFilter filter{limit, before, results, since, until};
            return stream<BuildRecord>(std::move(h), [builder, filter](History& history,
                                                                       const auto& sink) {
              history.builds(builder, filter, [&](const BuildRecord& row) { return sink(row); });
            });
          },
          py::arg("builder"), py::arg("limit") = 20, py::arg("before") = std::nullopt,
          py::arg("results") = std::nullopt, py::arg("since") = std::nullopt,
          py::arg("until") = std::nullopt)
      .def(
          "show",
          [](StoreHistory& h, std::string_view builder, int number) {
            return h.history.show(builder, number);
          },
          py::arg("builder"), py::arg("number"), Unlocked())
      .def(
          "find_log",
          [](StoreHistory& h, std::string_view reference) {
            return h.history.find_log(parse_reference(reference));
          },
          py::arg("reference"), Unlocked(),
          "The log BUILDER/NUMBER/STEP/LOG names; Error(NOT_FOUND) naming the missing part.")
      .def(
          "read_log",
          [](Handle h, LogDetail log, std::int64_t first, std::int64_t limit) {
            return stream<LineRow>(std::move(h), [log = std::move(log), first, limit](
                                                     History& history, const auto& sink) {
              history.read_log(log, first, limit, [&](const LogLine& line) {
                return sink(LineRow(line.number, std::string(line.text)));
              });
            });
          },
          py::arg("log"), py::arg("first") = 0, py::arg("limit") = 0)
      .def(
          "find_by_property",
          [](Handle h, std::string name, std::string value, std::optional<std::string> builder) {
            return stream<BuildRecord>(std::move(h), [=](History& history, const auto& sink) {
              history.find_by_property(name, value, builder,
                                       [&](const BuildRecord& row) { return sink(row); });
            });
          },
          py::arg("name"), py::arg("value"), py::arg("builder") = std::nullopt)
      .def("stats", [](StoreHistory& h) { return h.history.stats(); }, Unlocked())
      .def("check", [](Handle h) {
        return stream<Problem>(std::move(h), [](History& history, const auto& sink) {
          history.check([&](const Problem& row) { sink(row); });
        });
      });
}

}  // namespace buildhist::python
