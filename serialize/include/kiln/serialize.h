// Checkpoints, as torch::save / torch::load, in the safetensors format (an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data), so other tools read Kiln's weights. Saves are atomic: the file is written
// under a temporary name in the same directory, flushed to disk and renamed, so a crash part-way
// leaves the previous checkpoint intact. Loads check everything before changing anything: a
// truncated or corrupt file, a missing key, or a shape or dtype mismatch raises kiln::Error
// naming the file and the problem, and leaves the module as it was.
#pragma once

#include <map>
#include <string>

#include "kiln/kiln.h"
#include "kiln/nn/module.h"

namespace kiln {

// Named tensors (each evaluated and written contiguous).
void save(const std::map<std::string, Tensor>& tensors, const std::string& path, Loc loc = Loc::current());
std::map<std::string, Tensor> load_tensors(const std::string& path, Loc loc = Loc::current());

// A module's parameters and buffers under their dotted names ("fc1.weight").
void save(const nn::Module& module, const std::string& path, Loc loc = Loc::current());
void load(nn::Module& module, const std::string& path, Loc loc = Loc::current());
template <typename Impl>
void save(const nn::ModuleHolder<Impl>& module, const std::string& path, Loc loc = Loc::current()) {
  save(*module, path, loc);
}
template <typename Impl>
void load(nn::ModuleHolder<Impl>& module, const std::string& path, Loc loc = Loc::current()) {
  load(*module, path, loc);
}

}  // namespace kiln
