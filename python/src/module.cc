// buildhist._buildhist: the C++ library as a Python extension module. The package
// `buildhist` (python/buildhist/__init__.py) re-exports it; docs/python.md is the
// user's contract.
#include "bindings.h"

PYBIND11_MODULE(_buildhist, m) {
  m.doc() = "buildhist: a build-history store for CI masters, over SQLite";
  buildhist::python::bind_errors(m);
  buildhist::python::bind_records(m);
  buildhist::python::bind_status(m);
  buildhist::python::bind_store(m);
  buildhist::python::bind_history(m);
}
