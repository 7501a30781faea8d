// The pieces of the `buildhist._buildhist` extension module, one function an area.
//
// GIL rule of every binding: a call that can wait (a commit, a full write queue, a
// SQLite read, a cache miss that loads a build) releases the GIL, so that other
// Python threads, and buildbot's reactor, run meanwhile. Conversions to and from
// Python objects happen outside that window, with the GIL held.
#ifndef BUILDHIST_PYTHON_BINDINGS_H_
#define BUILDHIST_PYTHON_BINDINGS_H_

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "buildhist/records.h"
#include "sink_iterator.h"

namespace buildhist::python {

namespace py = pybind11;

// Releases the GIL for the duration of the bound call.
using Unlocked = py::call_guard<py::gil_scoped_release>;

void bind_errors(py::module_& m);   // buildhist.Error, ErrorCode
void bind_records(py::module_& m);  // enums and the plain records
void bind_status(py::module_& m);   // Build, Step, Log
void bind_store(py::module_& m);    // Store, CacheStats
void bind_history(py::module_& m);  // History and its iterators

// A log's type as Python names it: "s" (stdio), "t" (text) or "h" (html), as
// buildbot and `buildhist --json` do. Throws Error(kInvalidArgument) for any other.
LogType log_type_from_code(const std::string& code);
std::string log_type_code(LogType type);

// Registers SinkIterator<Row> as Python class `name`: iter(it) is it, next(it)
// waits for the next row without the GIL.
template <typename Row>
void bind_sink_iterator(py::module_& m, const char* name) {
  using Iterator = SinkIterator<Row>;
  py::class_<Iterator, std::shared_ptr<Iterator>>(m, name)
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", [](Iterator& it) {
        std::optional<Row> row;
        {
          py::gil_scoped_release unlocked;
          row = it.next();
        }
        if (!row) throw py::stop_iteration();
        return std::move(*row);
      });
}

}  // namespace buildhist::python

#endif  // BUILDHIST_PYTHON_BINDINGS_H_
