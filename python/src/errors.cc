// buildhist.Error: every buildhist::Error crosses into Python as this exception,
// with `code` (an ErrorCode) and `message` (the library's one line).
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "buildhist/error.h"

namespace buildhist::python {

void bind_errors(py::module_& m) {
  py::enum_<ErrorCode>(m, "ErrorCode")
      .value("NOT_FOUND", ErrorCode::kNotFound)
      .value("INVALID_ARGUMENT", ErrorCode::kInvalidArgument)
      .value("FAILED_PRECONDITION", ErrorCode::kFailedPrecondition)
      .value("IO", ErrorCode::kIO)
      .value("CORRUPT", ErrorCode::kCorrupt)
      .value("BUSY", ErrorCode::kBusy)
      .value("TOO_NEW", ErrorCode::kTooNew)
      .value("CLOSED", ErrorCode::kClosed);

  // Leaked on purpose: the translator below outlives any module object.
  static auto* error = new py::exception<Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const Error& e) {
      py::object instance = py::reinterpret_borrow<py::object>(error->ptr())(e.what());
      instance.attr("code") = py::cast(e.code());
      instance.attr("message") = py::str(e.what());
      PyErr_SetObject(error->ptr(), instance.ptr());
    }
  });
}

}  // namespace buildhist::python
