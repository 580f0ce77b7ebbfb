#pragma once
// JSON documents to Python objects and back: dicts, lists, str, int, float, bool, None.
#include <string>

#include <pybind11/pybind11.h>
#include <nlohmann/json.hpp>

namespace edgesim::python {

/// A results document as Python objects (what json.loads of its text would give).
pybind11::object to_python(const nlohmann::json& j);

/// A Python dict (list, str, number, bool, None; NumPy scalars through __index__ and
/// __float__) as JSON. Throws TypeError naming `where` (a path like "config.device")
/// for anything else.
nlohmann::json from_python(pybind11::handle h, const std::string& where);

}  // namespace edgesim::python
