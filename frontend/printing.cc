// Printing a tensor evaluates it and prints its values in LibTorch's layout.
#include <cmath>
#include <cstdio>
#include <ostream>

#include "frontend/recording.h"
#include "runtime/dump.h"

namespace kiln {

namespace {

const char* type_name(ScalarType t) {
  switch (t) {
    case kBool: return "Bool";
    case kUInt8: return "Byte";
    case kInt8: return "Char";
    case kInt16: return "Short";
    case kInt32: return "Int";
    case kInt64: return "Long";
    case kFloat32: return "Float";
    case kFloat64: return "Double";
  }
  return "?";
}

std::string format(double v, bool floating) {
  if (!floating) return std::to_string(static_cast<int64_t>(v));
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-4)) ? "%.4e" : "%.4f", v);
  return buf;
}

// Prints the last two axes as a matrix, preceded by "(i,j,.,.) =" for the leading ones.
void print_values(std::ostream& os, const std::vector<double>& v, const Shape& shape, bool floating) {
  std::vector<std::string> cells;
  size_t width = 0;
  for (double x : v) {
    cells.push_back(format(x, floating));
    width = std::max(width, cells.back().size());
  }
  auto pad = [&](const std::string& s) { return std::string(width - s.size() + 1, ' ') + s; };
  if (shape.empty()) {
    os << cells[0] << "\n";
    return;
  }
  size_t rank = shape.size();
  // A vector prints as a column, as in LibTorch.
  int64_t cols = rank >= 2 ? shape[rank - 1] : 1, rows = rank >= 2 ? shape[rank - 2] : shape[0];
  int64_t per_matrix = rows * cols;
  int64_t matrices = per_matrix == 0 ? 0 : static_cast<int64_t>(v.size()) / per_matrix;
  for (int64_t m = 0; m < matrices; ++m) {
    if (rank > 2) {
      os << "(";
      int64_t rest = m;
      Shape lead(shape.begin(), shape.end() - 2), idx(lead.size());
      for (size_t k = lead.size(); k-- > 0;) idx[k] = rest % lead[k], rest /= lead[k];
      for (int64_t i : idx) os << i << ",";
      os << ".,.) = \n";
    }
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) os << pad(cells[m * per_matrix + r * cols + c]);
      os << "\n";
    }
    if (rank > 2 && m + 1 < matrices) os << "\n";
  }
}

}  // namespace

std::ostream& operator<<(std::ostream& os, ScalarType t) { return os << type_name(t); }

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  runtime::EvaluationCause why("printing a tensor");
  std::vector<double> values = t.to_vector<double>();
  print_values(os, values, t.sizes(), t.is_floating_point());
  os << "[ " << (t.device().is_cpu() ? "CPU" : "CUDA") << type_name(t.dtype()) << "Type{";
  for (size_t i = 0; i < t.sizes().size(); ++i) os << (i ? "," : "") << t.sizes()[i];
  return os << "} ]";
}

}  // namespace kiln
