// The persistent compile cache: compiled code (CPU objects, later CUBIN and PTX) on disk, so that
// a second process running the same model compiles nothing.
//
// Entries live under KILN_CACHE_DIR (default $XDG_CACHE_HOME/kiln, else ~/.cache/kiln; "off"
// disables the cache), one directory per backend. An entry is found by a hash of its key (the
// backend puts everything that decides the code in the key: for the CPU the kernel's LLVM IR
// before optimization, the target CPU and features, and the LLVM version), and holds the key
// itself, compared in full on load, and a checksum. An entry that does not read back exactly
// (truncated, altered, another key) is ignored with a line on stderr and replaced by the fresh
// compile's. Entries are written to a temporary file and renamed into place, so readers never see
// a partial one; when the directory grows past KILN_COMPILE_CACHE_MB (default 512) the least
// recently written entries are removed.
#pragma once

#include <optional>
#include <string>

namespace kiln::runtime {

class CompileCache {
 public:
  // The cache of backend `kind` ("cpu", "cuda"), in the directory the environment names.
  explicit CompileCache(const std::string& kind);

  bool enabled() const { return !dir_.empty(); }
  const std::string& directory() const { return dir_; }

  // The code stored under `key`, if an intact entry has it.
  std::optional<std::string> load(const std::string& key) const;
  // Stores `code` under `key` (failures to write are ignored: the cache is an optimization).
  void store(const std::string& key, const std::string& code) const;

 private:
  std::string path_of(const std::string& key) const;
  void trim() const;

  std::string dir_;  // empty when disabled
  uint64_t max_bytes_;
};

}  // namespace kiln::runtime
