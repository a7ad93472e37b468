#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "kiln/serialize.h"

namespace kiln {

namespace {

using Json = nlohmann::json;

[[noreturn]] void fail(const char* op, const std::string& path, const std::string& what, SourceLoc loc) {
  throw Error(op, path + ": " + what, loc);
}

const char* dtype_code(ScalarType t) {
  switch (t) {
    case kBool: return "BOOL";
    case kUInt8: return "U8";
    case kInt8: return "I8";
    case kInt16: return "I16";
    case kInt32: return "I32";
    case kInt64: return "I64";
    case kFloat32: return "F32";
    case kFloat64: return "F64";
  }
  return "?";
}

std::optional<ScalarType> dtype_from_code(const std::string& code) {
  for (ScalarType t : {kBool, kUInt8, kInt8, kInt16, kInt32, kInt64, kFloat32, kFloat64})
    if (code == dtype_code(t)) return t;
  return std::nullopt;
}

// The tensor's elements as little-endian bytes (this machine is little-endian), read without
// handing out its address (which would make later in-place updates run one by one).
std::vector<char> bytes_of(const Tensor& t) {
  return dispatch_dtype(t.dtype(), [&]<typename T>() {
    std::vector<char> out(static_cast<size_t>(t.numel()) * sizeof(T));
    std::vector<T> values = t.to_vector<T>();
    for (size_t i = 0; i < values.size(); ++i) {
      T v = values[i];
      std::memcpy(out.data() + i * sizeof(T), &v, sizeof(T));
    }
    return out;
  });
}

// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename.
void write_atomically(const std::string& path, const std::string& header, const std::vector<std::vector<char>>& data,
                      SourceLoc loc) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("save", path, std::string("cannot create ") + tmp + ": " + std::strerror(errno), loc);
  auto put = [&](const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        fail("save", path, std::string("write failed: ") + std::strerror(e), loc);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  };
  uint64_t n = header.size();
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  put(length, 8);
  put(header.data(), header.size());
  for (const std::vector<char>& d : data) put(d.data(), d.size());
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail("save", path, "could not flush the file to disk", loc);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("save", path, std::string("rename failed: ") + std::strerror(e), loc);
  }
}

}  // namespace

void save(const std::map<std::string, Tensor>& tensors, const std::string& path, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  Json header = Json::object();
  header["__metadata__"] = {{"format", "pt"}, {"producer", "kiln"}};
  std::vector<std::vector<char>> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    check(t.defined(), "save", loc, [&] { return "tensor \"" + name + "\" is undefined"; });
    data.push_back(bytes_of(t.detach()));
    header[name] = {{"dtype", dtype_code(t.dtype())}, {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + data.back().size()}}};
    offset += data.back().size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  write_atomically(path, text, data, loc);
}

std::map<std::string, Tensor> load_tensors(const std::string& path, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("load", path, "no such file", loc);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
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

namespace {
std::map<std::string, Tensor> state_of(const nn::Module& module) {
  std::map<std::string, Tensor> state;
  for (const auto& p : module.named_parameters()) state[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) state[b.key()] = b.value();
  return state;
}
}  // namespace

void save(const nn::Module& module, const std::string& path, Loc loc) { save(state_of(module), path, loc); }

void load(nn::Module& module, const std::string& path, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  std::map<std::string, Tensor> saved = load_tensors(path, call);
  std::map<std::string, Tensor> state = state_of(module);
  // Every check first: a failed load changes nothing.
  for (const auto& [name, t] : state) {
    auto it = saved.find(name);
    if (it == saved.end()) fail("load", path, "missing key \"" + name + "\" (" + module.name() + ")", loc);
    if (it->second.sizes() != t.sizes() || it->second.dtype() != t.dtype())
      fail("load", path, "\"" + name + "\" is " + std::string(dtype_name(it->second.dtype())) +
                             shape_str(it->second.sizes()) + " in the file but " + std::string(dtype_name(t.dtype())) +
                             shape_str(t.sizes()) + " in the module", loc);
  }
  for (const auto& [name, t] : state) t.set_data(saved.at(name), call);
}

}  // namespace kiln
