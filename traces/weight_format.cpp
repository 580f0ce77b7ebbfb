#include "traces/weight_format.hpp"

#include <sstream>

#include "sim/core/config/params.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::traces {

const char* format_kind_name(FormatKind k) {
  switch (k) {
    case FormatKind::fp32: return "fp32";
    case FormatKind::fp16: return "fp16";
    case FormatKind::bf16: return "bf16";
    case FormatKind::int8: return "int8";
    case FormatKind::int4: return "int4";
    case FormatKind::vq: return "vq";
  }
  return "?";
}

namespace {
uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}
}  // namespace

uint64_t WeightFormat::tensor_bits(uint64_t rows, uint64_t cols) const {
  const uint64_t n = rows * cols;
  switch (kind) {
    case FormatKind::fp32: return 32 * n;
    case FormatKind::fp16:
    case FormatKind::bf16: return 16 * n;
    case FormatKind::int8: return 8 * n + rows * scale_bits;  // one scale per output channel (row)
    case FormatKind::int4:
      // A scale and a zero point per group of group_size weights along each row; a row's
      // last group may be short.
      return 4 * n + rows * ceil_div(cols, group_size) * (scale_bits + zero_bits);
    case FormatKind::vq:
      // GPTVQ's count: an index of vq_dim x bits_per_dim bits per vector, plus each group's
      // codebook of k entries of vq_dim values of codebook_bits (k d b_c / group bits per weight).
      return ceil_div(n, vq_dim) * vq_dim * bits_per_dim +
             ceil_div(n, group_size) * codebook_entries() * vq_dim * codebook_bits;
  }
  return 16 * n;
}

double WeightFormat::bits_per_weight(uint64_t rows, uint64_t cols) const {
  return static_cast<double>(tensor_bits(rows, cols)) / static_cast<double>(rows * cols);
}

Dtype WeightFormat::dtype() const {
  switch (kind) {
    case FormatKind::fp32: return Dtype::fp32;
    case FormatKind::fp16: return Dtype::fp16;
    case FormatKind::bf16: return Dtype::bf16;
    case FormatKind::int8: return Dtype::int8;
    case FormatKind::int4:
    case FormatKind::vq: return Dtype::int4;
  }
  return Dtype::fp16;
}

std::string WeightFormat::text() const {
  std::ostringstream os;
  os << format_kind_name(kind);
  switch (kind) {
    case FormatKind::int8: os << " s" << scale_bits; break;
    case FormatKind::int4: os << " g" << group_size << " s" << scale_bits << " z" << zero_bits; break;
    case FormatKind::vq:
      os << " d" << vq_dim << " b" << bits_per_dim << " c" << codebook_bits << " g" << group_size;
      break;
    default: break;
  }
  return os.str();
}

WeightFormat parse_format(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  std::string kind;
  in >> kind;
  WeightFormat f;
  const char* kinds[] = {"fp32", "fp16", "bf16", "int8", "int4", "vq"};
  bool known = false;
  for (int i = 0; i < 6; ++i) {
    if (kind == kinds[i]) {
      f.kind = static_cast<FormatKind>(i);
      known = true;
    }
  }
  if (!known) {
    std::string msg =
        "'" + text + "' is not a weight format (fp32, fp16, bf16, int8, int4 or vq, then options)";
    const std::string s = config::suggest(kind, {"fp32", "fp16", "bf16", "int8", "int4", "vq"});
    if (!s.empty()) msg += "; did you mean '" + s + "'?";
    config::fail_at(path, msg);
  }
  // Defaults: int4 g128 with a 16-bit scale (4.125 bits per weight, the W4 g128 point GPTVQ
  // compares with); vq: 2-D, 3 bits per dimension, 8-bit codebooks per 8192 weights (3.125).
  if (f.kind == FormatKind::int4) f.group_size = 128;
  if (f.kind == FormatKind::vq) f.group_size = 8192;
  std::string opt;
  bool have_b = false, have_k = false;
  while (in >> opt) {
    const char key = opt[0];
    const std::string digits = opt.substr(1);
    const bool numeric =
        !digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos && digits.size() <= 9;
    auto bad = [&](const std::string& why) {
      config::fail_at(path, "'" + opt + "' in '" + text + "': " + why);
    };
    if (!numeric) bad("an option is a letter and a number (g128, s16, z4, d2, b3, k64, c8)");
    const uint64_t v = std::stoull(digits);
    const bool is_int = f.kind == FormatKind::int4 || f.kind == FormatKind::int8;
    if (key == 's' && is_int) {
      if (v > 32) bad("scale bits must be at most 32");
      f.scale_bits = static_cast<uint32_t>(v);
    } else if (key == 'z' && f.kind == FormatKind::int4) {
      if (v > 8) bad("zero-point bits must be at most 8");
      f.zero_bits = static_cast<uint32_t>(v);
    } else if (key == 'g' && (f.kind == FormatKind::int4 || f.kind == FormatKind::vq)) {
      if (v < 1 || v > (1u << 30)) bad("the group size must be in [1, 2^30]");
      f.group_size = static_cast<uint32_t>(v);
    } else if (key == 'd' && f.kind == FormatKind::vq) {
      if (v < 1 || v > 16) bad("the vector dimension must be in [1, 16]");
      f.vq_dim = static_cast<uint32_t>(v);
    } else if (key == 'b' && f.kind == FormatKind::vq) {
      if (v < 1 || v > 16) bad("index bits per dimension must be in [1, 16]");
      f.bits_per_dim = static_cast<uint32_t>(v);
      have_b = true;
    } else if (key == 'k' && f.kind == FormatKind::vq) {
      if (v < 2 || (v & (v - 1)) != 0) bad("the codebook size must be a power of two >= 2");
      unsigned bits = 0;
      while ((uint64_t(1) << bits) < v) ++bits;
      have_k = true;
      f.bits_per_dim = bits;  // divided by the dimension below, once it is known
    } else if (key == 'c' && f.kind == FormatKind::vq) {
      if (v < 1 || v > 32) bad("codebook bits must be in [1, 32]");
      f.codebook_bits = static_cast<uint32_t>(v);
    } else {
      bad(std::string("no option '") + key + "' for " + kind);
    }
  }
  if (have_b && have_k)
    config::fail_at(path, "'" + text + "': give b (bits per dimension) or k (entries), not both");
  if (have_k) {
    if (f.bits_per_dim % f.vq_dim != 0) {
      config::fail_at(path, "'" + text + "': k = 2^" + std::to_string(f.bits_per_dim) +
                                " entries is not a whole number of bits per dimension for d" +
                                std::to_string(f.vq_dim));
    }
    f.bits_per_dim /= f.vq_dim;
  }
  if (f.kind == FormatKind::vq && f.vq_dim * f.bits_per_dim > 24) {
    config::fail_at(path, "'" + text + "': a codebook of 2^" + std::to_string(f.vq_dim * f.bits_per_dim) +
                              " entries is too large (at most 2^24)");
  }
  return f;
}

uint64_t format_chunk_bytes(const WeightFormat& f, uint64_t rows, uint64_t cols, uint32_t chunks) {
  const uint64_t bits = f.tensor_bits(rows, cols);
  return ceil_div(ceil_div(bits, chunks), 8);
}

}  // namespace edgesim::traces

// ModelLayout's formats are resolved here, beside the format arithmetic, so that the layout
// itself only calls this once its tensors exist.
#include "sim/core/pattern.hpp"
#include "traces/model_layout.hpp"

namespace edgesim::traces {

void ModelLayout::apply_weight_formats(const config::Params& p) {
  WeightFormat base;
  const std::string& given = p.text("weight_format");
  if (given.empty()) {
    // weight_dtype alone: the plain element size, no scales (what it always meant).
    base.kind = static_cast<FormatKind>(static_cast<int>(FormatKind::fp32) + static_cast<int>(weight_dtype_));
    base.scale_bits = base.zero_bits = 0;
    base.group_size = 128;
  } else {
    base = parse_format(given, p.path_of("weight_format"));
    weight_dtype_ = base.dtype();
  }
  struct Override {
    std::string pattern;
    WeightFormat format;
  };
  std::vector<Override> overrides;
  const auto list = p.list("weight_formats");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = p.path_of("weight_formats") + "[" + std::to_string(i) + "]";
    const auto eq = list[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      config::fail_at(path, "'" + list[i] + "' is not PATTERN=FORMAT (e.g. \"mlp=int4 g128\")");
    }
    Override o{list[i].substr(0, eq), parse_format(list[i].substr(eq + 1), path)};
    bool any = false;
    for (const auto& t : tensors_) any = any || (!t.vector() && pattern_matches(o.pattern, t.klass));
    if (!any) config::fail_at(path, "pattern '" + o.pattern + "' matches no weight tensor class");
    overrides.push_back(std::move(o));
  }
  formats_.assign(tensors_.size(), WeightFormat{});
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    if (t.vector()) {
      formats_[i].kind =
          static_cast<FormatKind>(static_cast<int>(FormatKind::fp32) + static_cast<int>(act_dtype_));
      continue;
    }
    formats_[i] = base;
    for (const auto& o : overrides) {
      if (pattern_matches(o.pattern, t.klass)) formats_[i] = o.format;
    }
  }
  set_chunk_bytes([&](const Tensor& t) {
    const size_t i = static_cast<size_t>(&t - tensors_.data());
    if (t.vector()) return t.chunk_bytes;
    return format_chunk_bytes(formats_[i], t.rows, t.cols, t.chunks);
  });
}

}  // namespace edgesim::traces
