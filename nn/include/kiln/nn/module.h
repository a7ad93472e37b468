// kiln::nn::Module: LibTorch's module tree. A module owns named parameters (tensors that require
// grad), buffers (state such as running statistics) and child modules; parameters(), buffers()
// and modules() walk the tree in registration order, train()/eval() set the mode everywhere, and
// a module prints as LibTorch's does. The holder pattern (KILN_MODULE(Linear) makes Linear a
// shared handle to LinearImpl, as TORCH_MODULE) lets a LibTorch model definition port by changing
// the namespace.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/nn/ordered_dict.h"

namespace kiln::nn {

class Module : public std::enable_shared_from_this<Module> {
 public:
  explicit Module(std::string name = "");
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The module's type name ("Linear"), for printing.
  const std::string& name() const { return name_; }

  std::vector<Tensor> parameters(bool recurse = true) const;
  OrderedDict<std::string, Tensor> named_parameters(bool recurse = true) const;  // "fc1.weight"
  std::vector<Tensor> buffers(bool recurse = true) const;
  OrderedDict<std::string, Tensor> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  OrderedDict<std::string, std::shared_ptr<Module>> named_children() const;
  // This module (unless include_self is false) and every descendant, depth first.
  std::vector<std::shared_ptr<Module>> modules(bool include_self = true);
  OrderedDict<std::string, std::shared_ptr<Module>> named_modules(bool include_self = true);

  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Clears the parameters' gradients (LibTorch's default: set to none).
  void zero_grad(bool set_to_none = true);
  // Moves (casts) every parameter and buffer in place (set_data): handles held elsewhere, such as
  // an optimizer's, see the change.
  void to(ScalarType dtype);
  void to(Device device);

  // One line per module, nested as LibTorch prints: "Linear(in_features=4, out_features=2, bias=true)".
  virtual void pretty_print(std::ostream& os) const;

  Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  Tensor& register_buffer(std::string name, Tensor tensor);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }
  template <typename M, typename = decltype(std::declval<const M&>().ptr())>
  M register_module(std::string name, M holder) {  // a ModuleHolder
    add_child(std::move(name), holder.ptr());
    return holder;
  }
  // Swaps the registered submodule `name` for `module` (kiln::Error if there is none).
  void replace_module(const std::string& name, std::shared_ptr<Module> module);

  // This module as its Impl type (`m.as<Linear>()` or `m.as<LinearImpl>()`), or null.
  template <typename T>
  auto* as() {
    if constexpr (requires { typename T::ContainedType; }) return dynamic_cast<typename T::ContainedType*>(this);
    else return dynamic_cast<T*>(this);
  }

 protected:
  const OrderedDict<std::string, std::shared_ptr<Module>>& child_modules() const { return children_; }
  // Subclasses name themselves after construction when they do not pass a name.
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  friend std::ostream& operator<<(std::ostream& os, const Module& m);
  void add_child(std::string name, std::shared_ptr<Module> child);
  void print_tree(std::ostream& os, int indent) const;

  std::string name_;
  bool training_ = true;
  OrderedDict<std::string, Tensor> parameters_, buffers_;
  OrderedDict<std::string, std::shared_ptr<Module>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

// A shared handle to a module implementation, as torch::nn::ModuleHolder: `Linear fc(4, 2)`
// constructs a LinearImpl; fc->weight reaches it; fc(x) calls its forward.
template <typename Impl>
class ModuleHolder {
 public:
  using ContainedType = Impl;
  template <typename... Args, typename = std::enable_if_t<std::is_constructible_v<Impl, Args&&...>>>
  explicit ModuleHolder(Args&&... args) : impl_(std::make_shared<Impl>(std::forward<Args>(args)...)) {}
  ModuleHolder(std::nullptr_t) {}  // an empty holder, assigned later
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  Impl* operator->() const { return impl_.get(); }
  Impl& operator*() const { return *impl_; }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  // fc(x): the caller's line reaches forward (for its errors and the recorded nodes) when
  // forward takes one; any other forward signature is called as is.
  Tensor operator()(const Tensor& input, Loc loc = Loc::current()) const
    requires requires(Impl& m, const Tensor& x, Loc l) { m.forward(x, l); }
  {
    return impl_->forward(input, loc);
  }
  // list[0], dict["key"]: indexing reaches the module (ModuleList, ModuleDict).
  template <typename Key>
    requires requires(Impl& m, Key&& k) { m[k]; }
  decltype(auto) operator[](Key&& key) const {
    return (*impl_)[std::forward<Key>(key)];
  }
  template <typename... Args>
    requires(!(sizeof...(Args) == 1 && requires(Impl& m, Args&&... a, Loc l) { m.forward(a..., l); }))
  decltype(auto) operator()(Args&&... args) const {
    return impl_->forward(std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<Impl> impl_;
};

template <typename Impl>
std::ostream& operator<<(std::ostream& os, const ModuleHolder<Impl>& m) {
  return os << *m;
}

}  // namespace kiln::nn

// KILN_MODULE(Linear): `Linear` is a ModuleHolder<LinearImpl>, as TORCH_MODULE.
#define KILN_MODULE(Name)                                                      \
  class Name : public ::kiln::nn::ModuleHolder<Name##Impl> {                   \
   public:                                                                     \
    using ::kiln::nn::ModuleHolder<Name##Impl>::ModuleHolder;                  \
  }
