#include "sim/core/input_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sim/core/errors.hpp"

namespace edgesim {

void open_input_file(std::ifstream& in, const std::string& path, const std::string& what) {
  const std::string name = (what.empty() ? "" : what + " ") + "'" + path + "'";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError("cannot open " + name + ": it is a directory");
  in.open(path, std::ios::binary);
  if (!in) throw InputError("cannot open " + name + ": " + std::strerror(errno));
}

std::ifstream open_input_file(const std::string& path, const std::string& what) {
  std::ifstream in;
  open_input_file(in, path, what);
  return in;
}

}  // namespace edgesim
