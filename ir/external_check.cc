#include "ir/external_check.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace kiln::ir {

namespace {

const char* env = std::getenv("KILN_CHECK_EXTERNAL");
std::atomic<bool> g_enabled{env != nullptr && std::strcmp(env, "0") != 0};

struct Fingerprint {
  uint64_t hash;
  SourceLoc read_at;
  std::weak_ptr<Storage> storage;  // an entry counts only while its storage lives
};

// Per borrowed storage with a pending read.
std::mutex g_mutex;
std::unordered_map<const Storage*, Fingerprint> g_fingerprints;

uint64_t hash_bytes(const void* data, size_t bytes) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ bytes;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
  }
  for (; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001B3ULL;
  return h;
}

bool is_borrowed_buffer(const Node& n) { return n.is_buffer() && n.storage && n.storage->borrowed(); }

}  // namespace

bool external_checks_enabled() { return g_enabled.load(std::memory_order_relaxed); }
void set_external_checks(bool enabled) { g_enabled = enabled; }

void note_external_read(const Node& input, SourceLoc loc) {
  if (!is_borrowed_buffer(input)) return;
  const Storage* s = input.storage.get();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_fingerprints.find(s);
  if (it != g_fingerprints.end() && !it->second.storage.expired()) return;  // the first read's stands
  if (g_fingerprints.size() >= 64 && it == g_fingerprints.end())  // drop entries of storages that died
    std::erase_if(g_fingerprints, [](const auto& e) { return e.second.storage.expired(); });
  g_fingerprints[s] = Fingerprint{hash_bytes(s->data(), s->bytes()), loc, input.storage};
}

std::vector<std::shared_ptr<Storage>> check_external_reads(const std::vector<const Node*>& order) {
  std::vector<std::shared_ptr<Storage>> read;
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const Node* n : order) {
    if (!is_borrowed_buffer(*n)) continue;
    read.push_back(n->storage);
    auto it = g_fingerprints.find(n->storage.get());
    if (it == g_fingerprints.end() || it->second.storage.expired()) continue;
    check(hash_bytes(n->storage->data(), n->storage->bytes()) == it->second.hash, "from_blob", n->loc, [&] {
      return "the memory of this from_blob tensor " + shape_str(n->shape) + " changed (or was freed) after " +
             it->second.read_at.str() +
             " recorded a read of it and before that value was evaluated; Kiln reads from_blob memory when "
             "a value is evaluated: keep the memory unchanged and alive until then, or clone() it at the read";
    });
  }
  return read;
}

void forget_external_reads(const std::vector<std::shared_ptr<Storage>>& storages) {
  if (storages.empty()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const std::shared_ptr<Storage>& s : storages) g_fingerprints.erase(s.get());
}

}  // namespace kiln::ir
