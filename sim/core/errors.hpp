#pragma once
// Errors carry their context (JSON path, byte offset, allowed range) in the message and
// are mapped to exit codes once, at the CLI boundary: 2 for bad input, 1 for a failed
// simulation.
#include <stdexcept>
#include <string>

namespace edgesim {

/// Bad input: a malformed config, a truncated trace, an impossible parameter. Exit 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The simulation itself failed (an internal invariant broke). Exit 1.
class SimError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr int kExitOk = 0;
constexpr int kExitSimFailure = 1;
constexpr int kExitBadInput = 2;

}  // namespace edgesim
