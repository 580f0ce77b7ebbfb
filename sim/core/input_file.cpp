#include "sim/core/input_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sim/core/errors.hpp"

namespace edgesim {

namespace {

std::string file_name(const std::string& path, const std::string& what) {
  return (what.empty() ? "" : what + " ") + "'" + path + "'";
}

}  // namespace

void refuse_directory(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError("cannot open " + file_name(path, what) + ": it is a directory");
}

void open_input_file(std::ifstream& in, const std::string& path, const std::string& what) {
  refuse_directory(path, what);
  in.open(path, std::ios::binary);
  if (!in) throw InputError("cannot open " + file_name(path, what) + ": " + std::strerror(errno));
}

std::ifstream open_input_file(const std::string& path, const std::string& what) {
  std::ifstream in;
  open_input_file(in, path, what);
  return in;
}

}  // namespace edgesim
