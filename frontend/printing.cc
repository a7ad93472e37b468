// Printing a tensor evaluates it and prints its values in LibTorch's layout.
#include <cmath>
#include <cstdio>
#include <iomanip>
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
    case kFloat16: return "Half";
    case kBFloat16: return "BFloat16";
    case kFloat32: return "Float";
    case kFloat64: return "Double";
  }
  return "?";
}

// LibTorch's number format for a block of values (ATen's __printFormat): integers print at the
// width of the largest; other values print fixed with 4 decimals, scaled by a power of ten shown
// as "1e+06 *" when they are all large or all small, or in scientific notation when their
// magnitudes span more than four orders. Returns the scale and the field width, and sets the
// stream's notation.
std::pair<double, int> number_format(std::ostream& os, const double* v, int64_t n) {
  if (n == 0) return {1.0, 0};
  bool integers = true;
  for (int64_t i = 0; i < n && integers; ++i)
    if (std::isfinite(v[i]) && v[i] != std::ceil(v[i])) integers = false;
  double exp_min = 1, exp_max = 1;
  int64_t first = 0;
  while (first < n && !std::isfinite(v[first])) ++first;
  if (first < n) {
    double lo = std::fabs(v[first]), hi = lo;
    for (int64_t i = first; i < n; ++i) {
      if (!std::isfinite(v[i])) continue;
      lo = std::min(lo, std::fabs(v[i]));
      hi = std::max(hi, std::fabs(v[i]));
    }
    exp_min = lo != 0 ? std::floor(std::log10(lo)) + 1 : 1;
    exp_max = hi != 0 ? std::floor(std::log10(hi)) + 1 : 1;
  }
  if (integers) {
    if (exp_max > 9) {
      os << std::scientific << std::setprecision(4);
      return {1.0, 11};
    }
    os << std::defaultfloat << std::setprecision(6);
    return {1.0, static_cast<int>(exp_max) + 1};
  }
  if (exp_max - exp_min > 4) {
    os << std::scientific << std::setprecision(4);
    return {1.0, std::fabs(exp_max) > 99 || std::fabs(exp_min) > 99 ? 12 : 11};
  }
  os << std::fixed << std::setprecision(4);
  if (exp_max > 5 || exp_max < 0) return {std::pow(10.0, exp_max - 1), 7};
  return {1.0, exp_max == 0 ? 7 : static_cast<int>(exp_max) + 6};
}

// "1e+06 *", leaving the values' notation set.
void print_scale(std::ostream& os, double scale) {
  std::ios_base::fmtflags flags = os.flags();
  std::streamsize precision = os.precision();
  os << std::defaultfloat << std::setprecision(6) << scale << " *\n";
  os.flags(flags);
  os.precision(precision);
}

// A matrix (ATen's __printMatrix): rows of `columns` values, in blocks of columns that fit 80
// characters ("Columns 1 to 26"), each line after the first indented by `indent`.
void print_matrix(std::ostream& os, const double* v, int64_t rows, int64_t columns, int indent) {
  auto [scale, width] = number_format(os, v, rows * columns);
  std::string pad(static_cast<size_t>(indent), ' ');
  os << pad;
  int64_t per_line = std::max<int64_t>(1, (80 - indent) / (width + 1));
  for (int64_t first = 0; first < columns; first += per_line) {
    int64_t last = std::min(first + per_line, columns) - 1;
    if (per_line < columns) {
      if (first != 0) os << "\n";
      os << "Columns " << first + 1 << " to " << last + 1 << pad;
    }
    if (scale != 1) {
      print_scale(os, scale);
      os << pad;
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = first; c <= last; ++c) {
        os << std::setw(width) << v[r * columns + c] / scale;
        if (c != last) {
          os << " ";
        } else {
          os << "\n";
          if (r != rows - 1) os << pad << (scale != 1 ? " " : "");
        }
      }
  }
}

// The values as LibTorch prints them: a scalar alone, a vector as a column, a matrix as rows,
// higher ranks as matrices headed "(i,j,.,.) = " (1-based, the first index fastest).
void print_values(std::ostream& os, const std::vector<double>& v, const Shape& shape) {
  if (shape.empty()) {
    os << std::defaultfloat << std::setprecision(6) << v[0] << "\n";
    return;
  }
  if (v.empty()) return;
  if (shape.size() == 1) {
    auto [scale, width] = number_format(os, v.data(), static_cast<int64_t>(v.size()));
    if (scale != 1) print_scale(os, scale);
    for (double x : v) os << std::setw(width) << x / scale << "\n";
    return;
  }
  int64_t rows = shape[shape.size() - 2], columns = shape.back();
  if (shape.size() == 2) return print_matrix(os, v.data(), rows, columns, 0);
  Shape lead(shape.begin(), shape.end() - 2);
  Shape counter(lead.size(), 0);
  Shape strides = contiguous_strides(lead);
  for (int64_t m = 0; m < numel(lead); ++m) {
    if (m != 0) os << "\n";
    int64_t offset = 0;
    os << "(";
    for (size_t k = 0; k < lead.size(); ++k) {
      os << counter[k] + 1 << ",";
      offset += counter[k] * strides[k];
    }
    os << ".,.) = \n";
    print_matrix(os, v.data() + offset * rows * columns, rows, columns, 1);
    for (size_t k = 0; k < counter.size() && ++counter[k] == lead[k]; ++k) counter[k] = 0;  // first fastest
  }
}

}  // namespace

std::ostream& operator<<(std::ostream& os, ScalarType t) { return os << type_name(t); }

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  runtime::EvaluationCause why("printing a tensor");
  std::vector<double> values = t.to_vector<double>();
  std::ios_base::fmtflags flags = os.flags();  // restored after, as LibTorch's FormatGuard
  std::streamsize precision = os.precision();
  print_values(os, values, t.sizes().vec());
  os.flags(flags);
  os.precision(precision);
  os << "[ " << (t.device().is_cpu() ? "CPU" : "CUDA") << type_name(t.dtype()) << "Type{";
  for (size_t i = 0; i < t.sizes().size(); ++i) os << (i ? "," : "") << t.sizes()[i];
  return os << "} ]";
}

}  // namespace kiln
