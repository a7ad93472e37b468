// The safetensors container: named tensors to and from bytes.
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "kiln/serialize.h"
#include "serialize/io.h"

namespace kiln {

using serialize::fail;

namespace {

using Json = nlohmann::json;

const char* dtype_code(ScalarType t) {
  switch (t) {
    case kBool: return "BOOL";
    case kUInt8: return "U8";
    case kInt8: return "I8";
    case kInt16: return "I16";
    case kInt32: return "I32";
    case kInt64: return "I64";
    case kFloat16: return "F16";
    case kBFloat16: return "BF16";
    case kFloat32: return "F32";
    case kFloat64: return "F64";
  }
  return "?";
}

std::optional<ScalarType> dtype_from_code(const std::string& code) {
  for (ScalarType t : kAllDtypes)
    if (code == dtype_code(t)) return t;
  return std::nullopt;
}

}  // namespace

void save(const std::map<std::string, Tensor>& tensors, const Destination& to, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  Json header = Json::object();
  header["__metadata__"] = {{"format", "pt"}, {"producer", "kiln"}};
  std::vector<std::string> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    check(t.defined(), "save", loc, [&] { return "tensor \"" + name + "\" is undefined"; });
    data.push_back(serialize::tensor_bytes(t));
    header[name] = {{"dtype", dtype_code(t.dtype())}, {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + data.back().size()}}};
    offset += data.back().size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  bytes += text;
  for (const std::string& d : data) bytes += d;
  serialize::write_bytes(to, bytes, loc);
}

std::map<std::string, Tensor> load_tensors(const Source& from, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  const std::string& path = from.path();
  std::string bytes = serialize::read_bytes(from, loc);
  if (bytes.size() < 8) fail("load", path, "truncated: no header length", loc);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > bytes.size() - 8) fail("load", path, "truncated: the header says " + std::to_string(n) + " bytes", loc);
  Json header;
  try {
    header = Json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const Json::exception& e) {
    fail("load", path, std::string("corrupt header: ") + e.what(), loc);
  }
  if (!header.is_object()) fail("load", path, "corrupt header: not a JSON object", loc);
  const char* data = bytes.data() + 8 + n;
  uint64_t data_size = bytes.size() - 8 - n;
  std::map<std::string, Tensor> out;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& what) { fail("load", path, "tensor \"" + name + "\": " + what, loc); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      bad("needs dtype, shape and data_offsets");
    std::optional<ScalarType> t;
    if (entry["dtype"].is_string()) t = dtype_from_code(entry["dtype"].get<std::string>());
    if (!t) bad("unsupported dtype " + entry["dtype"].dump());
    Shape shape;
    for (const Json& d : entry["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) bad("bad shape " + entry["shape"].dump());
      shape.push_back(d.get<int64_t>());
    }
    const Json& r = entry["data_offsets"];
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() || !r[1].is_number_unsigned()) bad("bad data_offsets");
    uint64_t begin = r[0].get<uint64_t>(), end = r[1].get<uint64_t>();
    uint64_t expected = static_cast<uint64_t>(numel(shape)) * element_size(*t);
    if (begin > end || end > data_size) bad("data past the end of the file (truncated)");
    if (end - begin != expected) bad(std::to_string(end - begin) + " bytes for " + shape_str(shape) + " " +
                                     std::string(dtype_name(*t)) + " (" + std::to_string(expected) + " expected)");
    std::vector<char> copy(data + begin, data + end);
    out[name] = from_blob(copy.data(), shape, dtype(*t)).clone();
  }
  return out;
}

}  // namespace kiln
