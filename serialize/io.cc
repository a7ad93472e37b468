#include "serialize/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <ostream>
#include <vector>

namespace kiln::serialize {

void fail(const char* op, const std::string& where, const std::string& what, SourceLoc loc) {
  throw Error(op, where + ": " + what, loc);
}

namespace {
void write_atomically(const std::string& path, const std::string& bytes, SourceLoc loc) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("save", path, std::string("cannot create ") + tmp + ": " + std::strerror(errno), loc);
  const char* p = bytes.data();
  size_t n = bytes.size();
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

void write_bytes(const Destination& to, const std::string& bytes, SourceLoc loc) {
  if (!to.stream()) return write_atomically(to.path(), bytes, loc);
  to.stream()->write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!*to.stream()) fail("save", to.path(), "the stream refused the write", loc);
}

std::string read_bytes(const Source& from, SourceLoc loc) {
  if (from.stream()) return std::string(std::istreambuf_iterator<char>(*from.stream()), {});
  std::ifstream in(from.path(), std::ios::binary);
  if (!in) fail("load", from.path(), "no such file", loc);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string tensor_bytes(const Tensor& t) {
  return dispatch_dtype(t.dtype(), [&]<typename T>() {
    std::string out(static_cast<size_t>(t.numel()) * sizeof(T), '\0');
    std::vector<T> values = t.detach().to_vector<T>();
    for (size_t i = 0; i < values.size(); ++i) {
      T v = values[i];  // a copy: std::vector<bool> has no addressable elements
      std::memcpy(out.data() + i * sizeof(T), &v, sizeof(T));
    }
    return out;
  });
}

}  // namespace kiln::serialize
