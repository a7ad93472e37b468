// Checkpoints, as torch::save / torch::load, in the safetensors format (an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data), so other tools read Kiln's weights. Each save writes to a path or a
// std::ostream and each load reads a path or a std::istream. Saves to a path are atomic: the
// file is written under a temporary name in the same directory, flushed to disk and renamed, so
// a crash part-way leaves the previous checkpoint intact. Loads check everything before
// changing anything: a truncated or corrupt file, a missing key, or a shape or dtype mismatch
// raises kiln::Error naming the file and the problem, and leaves the module, optimizer or tensor
// as it was. A single tensor can also go to NumPy's .npy format (save_npy / load_npy).
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/nn/module.h"
#include "kiln/optim/optimizer.h"

namespace kiln {

// Where a save goes: a file path or a stream.
class Destination {
 public:
  Destination(std::string path) : path_(std::move(path)) {}
  Destination(const char* path) : path_(path) {}
  Destination(std::ostream& stream) : stream_(&stream), path_("<stream>") {}
  std::ostream* stream() const { return stream_; }
  const std::string& path() const { return path_; }

 private:
  std::ostream* stream_ = nullptr;
  std::string path_;
};

// Where a load reads from: a file path or a stream.
class Source {
 public:
  Source(std::string path) : path_(std::move(path)) {}
  Source(const char* path) : path_(path) {}
  Source(std::istream& stream) : stream_(&stream), path_("<stream>") {}
  std::istream* stream() const { return stream_; }
  const std::string& path() const { return path_; }

 private:
  std::istream* stream_ = nullptr;
  std::string path_;
};

// Named tensors (each evaluated and written contiguous).
void save(const std::map<std::string, Tensor>& tensors, const Destination& to, Loc loc = Loc::current());
std::map<std::string, Tensor> load_tensors(const Source& from, Loc loc = Loc::current());

// A module's parameters and buffers under their dotted names ("fc1.weight").
void save(const nn::Module& module, const Destination& to, Loc loc = Loc::current());
void load(nn::Module& module, const Source& from, Loc loc = Loc::current());
template <typename Impl>
void save(const nn::ModuleHolder<Impl>& module, const Destination& to, Loc loc = Loc::current()) {
  save(*module, to, loc);
}
template <typename Impl>
void load(nn::ModuleHolder<Impl>& module, const Source& from, Loc loc = Loc::current()) {
  load(*module, from, loc);
}

// An optimizer's state_dict: learning rates, momentum buffers, moments and step counts.
void save(const optim::Optimizer& optimizer, const Destination& to, Loc loc = Loc::current());
void load(optim::Optimizer& optimizer, const Source& from, Loc loc = Loc::current());

// A tensor (key "tensor") and a list of tensors (keys "0", "1", ...). Loading a tensor replaces
// the handle's value (set_data when it is defined, so a parameter stays the same leaf).
void save(const Tensor& tensor, const Destination& to, Loc loc = Loc::current());
void load(Tensor& tensor, const Source& from, Loc loc = Loc::current());
void save(const std::vector<Tensor>& tensors, const Destination& to, Loc loc = Loc::current());
void load(std::vector<Tensor>& tensors, const Source& from, Loc loc = Loc::current());

// NumPy's .npy (format 1.0, C order, little-endian), for one tensor of any Kiln dtype.
void save_npy(const Tensor& tensor, const Destination& to, Loc loc = Loc::current());
Tensor load_npy(const Source& from, Loc loc = Loc::current());

}  // namespace kiln
