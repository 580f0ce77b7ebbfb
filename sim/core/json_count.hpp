#pragma once
// Reading a count from a user's JSON. nlohmann's get<T>() converts a float (1.6e18) or a
// negative number to an unsigned type without a check, which for a float out of range is
// undefined behaviour; json_count refuses both.
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace edgesim {

/// A whole number from 0: parsed from text such a number is unsigned, but one built in code
/// from a signed integer is not.
inline bool json_is_count(const nlohmann::json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

/// `v` as a count of type T: a whole number from 0 to T's largest. Otherwise throws
/// std::out_of_range "WHAT V is not a whole number from 0 to MAX" (callers add the file).
template <class T>
T json_count(const nlohmann::json& v, const std::string& what) {
  constexpr uint64_t kMax = std::numeric_limits<T>::max();
  if (!json_is_count(v) || v.get<uint64_t>() > kMax)
    throw std::out_of_range(what + " " + v.dump() + " is not a whole number from 0 to " +
                            std::to_string(kMax));
  return static_cast<T>(v.get<uint64_t>());
}

}  // namespace edgesim
