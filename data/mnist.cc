#include "kiln/data/mnist.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace kiln::data::datasets {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, SourceLoc loc) {
  throw Error("MNIST", path + ": " + what, loc);
}

// The whole file, decompressed when it is gzip (zlib reads plain files as they are).
std::vector<unsigned char> read_file(const std::string& path, SourceLoc loc) {
  std::string chosen = path;
  if (!std::ifstream(chosen).good()) chosen = path + ".gz";
  if (!std::ifstream(chosen).good()) fail(path, "no such file (nor " + path + ".gz)", loc);
  gzFile f = gzopen(chosen.c_str(), "rb");
  if (!f) fail(chosen, "cannot be opened", loc);
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(f, gzclose);
  std::vector<unsigned char> bytes;
  unsigned char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  int err = 0;
  if (n < 0 || (gzerror(f, &err), err != Z_OK && err != Z_STREAM_END)) fail(chosen, "corrupt gzip data", loc);
  return bytes;
}

uint32_t big_endian(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

// IDX: 0x00 0x00 <type 0x08 = uint8> <rank>, then rank big-endian uint32 sizes, then the data.
Tensor read_idx(const std::string& path, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  std::vector<unsigned char> bytes = read_file(path, loc);
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) fail(path, "not an IDX file (bad magic number)", loc);
  if (bytes[2] != 0x08) fail(path, "IDX element type " + std::to_string(bytes[2]) + " is not uint8 (0x08)", loc);
  size_t rank = bytes[3];
  if (rank == 0 || rank > 4 || bytes.size() < 4 + 4 * rank) fail(path, "truncated IDX header", loc);
  Shape shape;
  size_t count = 1;
  for (size_t k = 0; k < rank; ++k) {
    shape.push_back(big_endian(&bytes[4 + 4 * k]));
    count *= static_cast<size_t>(shape.back());
  }
  size_t offset = 4 + 4 * rank;
  if (bytes.size() - offset != count)
    fail(path, "holds " + std::to_string(bytes.size() - offset) + " data bytes, the header " + shape_str(shape) +
                   " says " + std::to_string(count) + (bytes.size() - offset < count ? " (truncated)" : ""), loc);
  return from_blob(bytes.data() + offset, shape, dtype(kUInt8)).clone();
}

MNIST::MNIST(const std::string& root, Mode mode, Loc call) : train_(mode == Mode::kTrain) {
  SourceLoc loc = SourceLoc::from(call);
  std::string prefix = root + (train_ ? "/train" : "/t10k");
  Tensor images = read_idx(prefix + "-images-idx3-ubyte", call);
  Tensor labels = read_idx(prefix + "-labels-idx1-ubyte", call);
  if (images.dim() != 3 || labels.dim() != 1 || images.size(0) != labels.size(0))
    fail(root, "images " + shape_str(images.sizes()) + " and labels " + shape_str(labels.sizes()) +
                   " do not match (expected [N, 28, 28] and [N])", loc);
  images_ = images.to(kFloat32).div(255).unsqueeze(1).eval();
  targets_ = labels.to(kInt64).eval();
}

Example<> MNIST::get(size_t index) {
  check(index < static_cast<size_t>(images_.size(0)), "MNIST", {}, [&] {
    return "index " + std::to_string(index) + " is out of range for " + std::to_string(images_.size(0)) + " examples";
  });
  int64_t i = static_cast<int64_t>(index);
  return {images_.slice(0, i, i + 1).squeeze(0), targets_.slice(0, i, i + 1).squeeze(0)};
}

std::optional<size_t> MNIST::size() const { return static_cast<size_t>(images_.size(0)); }

}  // namespace kiln::data::datasets
