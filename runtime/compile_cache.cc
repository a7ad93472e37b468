#include "runtime/compile_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

namespace kiln::runtime {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[] = "kiln compile cache 1\n";

// FNV-1a, 64 bits, from `basis`: two bases give a 128-bit file name; the checksum is one of them.
uint64_t fnv(const std::string& s, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}
constexpr uint64_t kBasisA = 14695981039346656037ULL, kBasisB = 0x9E3779B97F4A7C15ULL;

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
bool get_u64(const std::string& in, size_t& at, uint64_t& v) {
  if (in.size() - at < sizeof v) return false;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return true;
}

std::string default_directory() {
  const char* dir = std::getenv("KILN_CACHE_DIR");
  if (dir && *dir) return std::strcmp(dir, "off") == 0 ? std::string() : std::string(dir);
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/kiln";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/kiln";
  return "";
}

uint64_t max_bytes_from_env() {
  const char* v = std::getenv("KILN_COMPILE_CACHE_MB");
  long mb = v ? std::strtol(v, nullptr, 10) : 0;
  return static_cast<uint64_t>(mb > 0 ? mb : 512) << 20;
}

}  // namespace

CompileCache::CompileCache(const std::string& kind) : max_bytes_(max_bytes_from_env()) {
  std::string root = default_directory();
  if (root.empty()) return;
  std::error_code ec;
  fs::create_directories(root + "/" + kind, ec);
  if (!ec) dir_ = root + "/" + kind;
}

std::string CompileCache::path_of(const std::string& key) const {
  return dir_ + "/" + hex(fnv(key, kBasisA)) + hex(fnv(key, kBasisB));
}

std::optional<std::string> CompileCache::load(const std::string& key) const {
  if (!enabled()) return std::nullopt;
  std::string path = path_of(key);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;  // not cached
  std::stringstream buf;
  buf << in.rdbuf();
  std::string data = buf.str();
  auto corrupt = [&](const char* why) -> std::optional<std::string> {
    std::fprintf(stderr, "kiln: ignoring the compile cache entry %s (%s); compiling again\n", path.c_str(), why);
    return std::nullopt;
  };
  size_t at = sizeof kMagic - 1;
  if (data.compare(0, at, kMagic) != 0) return corrupt("not a Kiln cache entry");
  uint64_t key_size = 0, code_size = 0, checksum = 0;
  if (!get_u64(data, at, key_size) || data.size() - at < key_size) return corrupt("truncated");
  if (data.compare(at, key_size, key) != 0) return corrupt("another key with the same hash");
  at += key_size;
  if (!get_u64(data, at, code_size) || data.size() - at < code_size) return corrupt("truncated");
  std::string code = data.substr(at, code_size);
  at += code_size;
  if (!get_u64(data, at, checksum) || at != data.size()) return corrupt("truncated or extended");
  if (checksum != fnv(key + code, kBasisA)) return corrupt("checksum mismatch");
  return code;
}

void CompileCache::store(const std::string& key, const std::string& code) const {
  if (!enabled()) return;
  std::string data = kMagic;
  put_u64(data, key.size());
  data += key;
  put_u64(data, code.size());
  data += code;
  put_u64(data, fnv(key + code, kBasisA));
  std::string path = path_of(key);
  std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + hex(std::random_device{}());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!(out << data) || !out.flush()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);  // atomic within the directory: readers see the old entry or the new
  if (ec) fs::remove(tmp, ec);
  trim();
}

// Removes the oldest entries while the directory holds more than max_bytes_.
void CompileCache::trim() const {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  uint64_t total = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    if (!e.is_regular_file(ec)) continue;
    total += e.file_size(ec);
    entries.emplace_back(e.last_write_time(ec), e.path());
  }
  if (total <= max_bytes_) return;
  std::sort(entries.begin(), entries.end());
  for (const auto& [time, path] : entries) {
    if (total <= max_bytes_) break;
    uint64_t size = fs::file_size(path, ec);
    if (fs::remove(path, ec)) total -= size;
  }
}

}  // namespace kiln::runtime
