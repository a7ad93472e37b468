// Modules, optimizers, tensors and tensor lists as named tensors in a safetensors file.
#include "kiln/serialize.h"
#include "serialize/io.h"

namespace kiln {

using serialize::fail;

namespace {

std::map<std::string, Tensor> state_of(const nn::Module& module) {
  std::map<std::string, Tensor> state;
  for (const auto& p : module.named_parameters()) state[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) state[b.key()] = b.value();
  return state;
}

std::string shape_and_dtype(const Tensor& t) { return std::string(dtype_name(t.dtype())) + shape_str(t.sizes()); }

}  // namespace

void save(const nn::Module& module, const Destination& to, Loc loc) { save(state_of(module), to, loc); }

void load(nn::Module& module, const Source& from, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  std::map<std::string, Tensor> saved = load_tensors(from, call);
  std::map<std::string, Tensor> state = state_of(module);
  // Every check first: a failed load changes nothing.
  for (const auto& [name, t] : state) {
    auto it = saved.find(name);
    if (it == saved.end()) fail("load", from.path(), "missing key \"" + name + "\" (" + module.name() + ")", loc);
    if (it->second.sizes() != t.sizes() || it->second.dtype() != t.dtype())
      fail("load", from.path(), "\"" + name + "\" is " + shape_and_dtype(it->second) + " in the file but " +
                                    shape_and_dtype(t) + " in the module", loc);
  }
  // Into each tensor where it is: a module on a GPU loads onto the GPU, as LibTorch's load does.
  for (const auto& [name, t] : state) t.set_data(saved.at(name).to(t.device(), call), call);
}

void save(const optim::Optimizer& optimizer, const Destination& to, Loc loc) { save(optimizer.state_dict(), to, loc); }

void load(optim::Optimizer& optimizer, const Source& from, Loc call) {
  std::map<std::string, Tensor> saved = load_tensors(from, call);
  try {
    optimizer.load_state_dict(saved);
  } catch (const Error& e) {  // the same check, reported at the caller's load with the file
    fail("load", from.path(), e.what(), SourceLoc::from(call));
  }
}

void save(const Tensor& tensor, const Destination& to, Loc loc) { save({{"tensor", tensor}}, to, loc); }

void load(Tensor& tensor, const Source& from, Loc call) {
  std::map<std::string, Tensor> saved = load_tensors(from, call);
  auto it = saved.find("tensor");
  if (it == saved.end() || saved.size() != 1)
    fail("load", from.path(), "expected one tensor under the key \"tensor\"", SourceLoc::from(call));
  if (tensor.defined()) tensor.set_data(it->second.to(tensor.device(), call), call);
  else tensor = it->second;
}

void save(const std::vector<Tensor>& tensors, const Destination& to, Loc loc) {
  std::map<std::string, Tensor> named;
  for (size_t i = 0; i < tensors.size(); ++i) named[std::to_string(i)] = tensors[i];
  save(named, to, loc);
}

void load(std::vector<Tensor>& tensors, const Source& from, Loc call) {
  std::map<std::string, Tensor> saved = load_tensors(from, call);
  std::vector<Tensor> out(saved.size());
  for (auto& [key, t] : saved) {
    size_t i = 0;
    bool numeric = !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) i = std::stoul(key);
    if (!numeric || i >= out.size())
      fail("load", from.path(), "a tensor list has keys 0.." + std::to_string(out.size() - 1) + ", not \"" + key + "\"",
           SourceLoc::from(call));
    out[i] = t;
  }
  tensors = std::move(out);
}

}  // namespace kiln
