#include "models/npu/dataset.hpp"

#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "sim/core/errors.hpp"
#include "sim/core/input_file.hpp"

namespace edgesim::npu {

int8_t quantize(double real, const Tensor& t) {
  // Rounded and saturated as a double: a value far outside the int8 range (1e30) has no
  // long to round to (std::lround's result is then unspecified), and must saturate.
  const double q = std::round(real / t.scale) + t.zero_point;
  return static_cast<int8_t>(q < -128 ? -128 : q > 127 ? 127 : q);
}

Dataset load_dataset(const std::string& path, const Network& net) {
  // gzread reads plain files as they are, so one reader serves both forms.
  refuse_directory(path, "input file");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) throw InputError("cannot read input file '" + path + "'");
  const Tensor& in = net.tensors[net.input];
  Dataset d;
  d.input_size = in.size();
  std::string text;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  if (n < 0) throw InputError(path + ": not a readable CSV or gzip file (truncated?)");
  size_t line_no = 0, pos = 0;
  std::vector<double> values;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    values.clear();
    const char* p = line.c_str();
    while (true) {
      char* next = nullptr;
      errno = 0;
      const double v = std::strtod(p, &next);
      if (next == p || errno != 0 || !std::isfinite(v))
        throw InputError(path + ":" + std::to_string(line_no) + ": value " +
                         std::to_string(values.size() + 1) + " is not a number");
      values.push_back(v);
      while (*next == ' ' || *next == '\t') ++next;
      if (*next == '\0') break;
      if (*next != ',')
        throw InputError(path + ":" + std::to_string(line_no) + ": expected ',' after value " +
                         std::to_string(values.size()));
      p = next + 1;
    }
    const bool labelled = values.size() == d.input_size + 1;
    if (values.size() != d.input_size && !labelled)
      throw InputError(path + ":" + std::to_string(line_no) + ": " + std::to_string(values.size()) +
                       " values; the network's input has " + std::to_string(d.input_size) +
                       " elements (plus an optional label)");
    if (d.rows() > 0 && labelled != !d.labels.empty())
      throw InputError(path + ":" + std::to_string(line_no) + ": some lines have a label and some do not");
    for (size_t i = 0; i < d.input_size; ++i) d.inputs.push_back(quantize(values[i] * net.raw_scale, in));
    if (labelled) {
      const double l = values.back();
      if (l != std::floor(l) || l < 0 || l >= static_cast<double>(net.tensors[net.output].size()))
        throw InputError(path + ":" + std::to_string(line_no) + ": label " + std::to_string(l) +
                         " is not a class index of the output");
      d.labels.push_back(static_cast<int>(l));
    }
  }
  if (d.rows() == 0) throw InputError(path + ": no inputs in the file");
  return d;
}

Dataset load_dataset_or_zero(const std::string& path, const Network& net) {
  if (!path.empty()) return load_dataset(path, net);
  Dataset data;
  data.input_size = net.tensors[net.input].size();
  data.inputs.assign(data.input_size, static_cast<int8_t>(net.tensors[net.input].zero_point));
  return data;
}

}  // namespace edgesim::npu
