// NumPy's .npy format 1.0: "\x93NUMPY", version 1.0, a 2-byte header length, a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded to 64 bytes, then
// the C-order data.
#include <cstring>
#include <regex>

#include "kiln/serialize.h"
#include "serialize/io.h"

namespace kiln {

using serialize::fail;

namespace {

const char* npy_descr(ScalarType t) {
  switch (t) {
    case kBool: return "|b1";
    case kUInt8: return "|u1";
    case kInt8: return "|i1";
    case kInt16: return "<i2";
    case kInt32: return "<i4";
    case kInt64: return "<i8";
    case kFloat16: return "<f2";
    case kBFloat16: return "?";  // NumPy has no bfloat16
    case kFloat32: return "<f4";
    case kFloat64: return "<f8";
  }
  return "?";
}

constexpr char kMagic[] = "\x93NUMPY";

}  // namespace

void save_npy(const Tensor& tensor, const Destination& to, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(tensor.defined(), "save_npy", loc, "the tensor is undefined");
  check(tensor.dtype() != kBFloat16, "save_npy", loc, "NumPy has no bfloat16; convert the tensor first (.to(kFloat32))");
  std::string shape = "(";  // a Python tuple: "()", "(5,)", "(2, 3)"
  for (int64_t i = 0; i < tensor.dim(); ++i)
    shape += std::to_string(tensor.size(i)) + (tensor.dim() == 1 ? "," : i + 1 < tensor.dim() ? ", " : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + npy_descr(tensor.dtype()) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes(kMagic, 6);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  bytes += header;
  bytes += serialize::tensor_bytes(tensor);
  serialize::write_bytes(to, bytes, loc);
}

Tensor load_npy(const Source& from, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  std::string bytes = serialize::read_bytes(from, loc);
  auto bad = [&](const std::string& what) { fail("load_npy", from.path(), what, loc); };
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) bad("not a .npy file (no \\x93NUMPY magic)");
  if (bytes[6] != 1 || bytes[7] != 0) bad("unsupported .npy version " + std::to_string(bytes[6]) + "." + std::to_string(bytes[7]));
  size_t n = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  if (10 + n > bytes.size()) bad("truncated header");
  std::string header = bytes.substr(10, n);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'"))) bad("header has no descr: " + header);
  std::optional<ScalarType> type;
  for (ScalarType t : kAllDtypes)
    if (m[1] == npy_descr(t)) type = t;
  if (!type) bad("unsupported dtype " + m[1].str() + " (little-endian bool, integers and floats only)");
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True"))) bad("Fortran-order arrays are not supported");
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) bad("header has no shape: " + header);
  Shape shape;
  std::string dims = m[1];
  std::regex number("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it)
    shape.push_back(std::stoll(it->str()));
  size_t expected = static_cast<size_t>(numel(shape)) * element_size(*type);
  if (bytes.size() - 10 - n != expected)
    bad("data is " + std::to_string(bytes.size() - 10 - n) + " bytes, " + shape_str(shape) + " " +
        std::string(dtype_name(*type)) + " needs " + std::to_string(expected) + " (truncated?)");
  std::vector<char> data(bytes.begin() + static_cast<std::ptrdiff_t>(10 + n), bytes.end());
  return from_blob(data.data(), shape, dtype(*type)).clone();
}

}  // namespace kiln
