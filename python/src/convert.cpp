#include "convert.hpp"

#include <cmath>
#include <limits>

namespace edgesim::python {

namespace py = pybind11;
using nlohmann::json;

py::object to_python(const json& j) {
  switch (j.type()) {
    case json::value_t::boolean: return py::bool_(j.get<bool>());
    case json::value_t::number_integer: return py::int_(j.get<int64_t>());
    case json::value_t::number_unsigned: return py::int_(j.get<uint64_t>());
    case json::value_t::number_float: return py::float_(j.get<double>());
    case json::value_t::string: return py::str(j.get_ref<const std::string&>());
    case json::value_t::array: {
      py::list l(j.size());
      size_t i = 0;
      for (const auto& e : j) l[i++] = to_python(e);
      return l;
    }
    case json::value_t::object: {
      py::dict d;
      for (const auto& [k, v] : j.items()) d[py::str(k)] = to_python(v);
      return d;
    }
    default: return py::none();  // null (binary and discarded values do not occur)
  }
}

json from_python(py::handle h, const std::string& where) {
  if (h.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(h)) return h.cast<bool>();
  if (py::isinstance<py::str>(h)) return h.cast<std::string>();
  if (py::isinstance<py::dict>(h)) {
    json o = json::object();
    for (const auto& [k, v] : py::reinterpret_borrow<py::dict>(h)) {
      if (!py::isinstance<py::str>(k))
        throw py::type_error(where + ": a key is " + std::string(py::str(py::type::of(k))) +
                             ", expected str");
      const std::string key = k.cast<std::string>();
      o[key] = from_python(v, where + "." + key);
    }
    return o;
  }
  if (py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h)) {
    json a = json::array();
    size_t i = 0;
    for (const auto& e : py::reinterpret_borrow<py::sequence>(h))
      a.push_back(from_python(e, where + "[" + std::to_string(i++) + "]"));
    return a;
  }
  if (py::isinstance<py::int_>(h) || py::hasattr(h, "__index__")) {
    const py::int_ i(py::reinterpret_borrow<py::object>(h));
    const bool negative = i < py::int_(0);
    if (negative ? i >= py::int_(std::numeric_limits<int64_t>::min())
                 : i <= py::int_(std::numeric_limits<uint64_t>::max()))
      return negative ? json(i.cast<int64_t>()) : json(i.cast<uint64_t>());
    // Beyond 64 bits: a double, as the same digits in a JSON file or --set are read.
    const double d = PyLong_AsDouble(i.ptr());
    if (d == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      const size_t digits = std::string(py::str(h)).size() - (negative ? 1 : 0);
      throw py::value_error(where + ": an integer of " + std::to_string(digits) +
                            " digits has no JSON form (beyond a double)");
    }
    return d;
  }
  if (py::isinstance<py::float_>(h) || py::hasattr(h, "__float__")) {
    const double d = py::float_(py::reinterpret_borrow<py::object>(h)).cast<double>();
    if (!std::isfinite(d)) throw py::value_error(where + ": " + std::to_string(d) + " has no JSON form");
    return d;
  }
  throw py::type_error(where + ": " + std::string(py::str(py::type::of(h))) +
                       " has no JSON form (expected dict, list, str, int, float, bool or None)");
}

}  // namespace edgesim::python
