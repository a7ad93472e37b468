#include "kiln/nn/module.h"

#include <functional>

namespace kiln::nn {

Module::Module(std::string name) : name_(std::move(name)) {}

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  check(!name.empty() && name.find('.') == std::string::npos, "register_parameter", {},
        [&] { return "parameter name \"" + name + "\" must be non-empty and contain no dot"; });
  check(!parameters_.contains(name) && !buffers_.contains(name) && !children_.contains(name), "register_parameter",
        {}, [&] { return "attribute \"" + name + "\" already exists in " + name_; });
  // A parameter is a leaf of its own (an evaluated copy when the value is still a graph).
  if (tensor.defined()) {
    tensor = tensor.detach().clone().eval();
    if (requires_grad) tensor.requires_grad_(true);
  }
  return parameters_.insert(std::move(name), std::move(tensor));
}

Tensor& Module::register_buffer(std::string name, Tensor tensor) {
  check(!name.empty() && name.find('.') == std::string::npos, "register_buffer", {},
        [&] { return "buffer name \"" + name + "\" must be non-empty and contain no dot"; });
  check(!parameters_.contains(name) && !buffers_.contains(name) && !children_.contains(name), "register_buffer", {},
        [&] { return "attribute \"" + name + "\" already exists in " + name_; });
  return buffers_.insert(std::move(name), std::move(tensor));
}

void Module::add_child(std::string name, std::shared_ptr<Module> child) {
  check(child != nullptr, "register_module", {}, [&] { return "submodule \"" + name + "\" is empty"; });
  check(!name.empty() && name.find('.') == std::string::npos, "register_module", {},
        [&] { return "submodule name \"" + name + "\" must be non-empty and contain no dot"; });
  check(!parameters_.contains(name) && !buffers_.contains(name) && !children_.contains(name), "register_module", {},
        [&] { return "attribute \"" + name + "\" already exists in " + name_; });
  children_.insert(std::move(name), std::move(child));
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> module) {
  std::shared_ptr<Module>* slot = children_.find(name);
  check(slot != nullptr, "replace_module", {}, [&] { return "no submodule \"" + name + "\" in " + name_; });
  check(module != nullptr, "replace_module", {}, [&] { return "submodule \"" + name + "\" is empty"; });
  *slot = std::move(module);
}

namespace {

// Walks the tree depth first, calling f(prefix + name, tensor) for the tensors `pick` selects.
template <typename Pick, typename F>
void walk(const Module& m, const std::string& prefix, bool recurse, Pick pick, F f) {
  for (const auto& item : pick(m)) f(prefix + item.key(), item.value());
  if (!recurse) return;
  for (const auto& child : m.named_children()) walk(*child.value(), prefix + child.key() + ".", true, pick, f);
}

}  // namespace

OrderedDict<std::string, Tensor> Module::named_parameters(bool recurse) const {
  OrderedDict<std::string, Tensor> out;
  walk(*this, "", recurse, [](const Module& m) -> const auto& { return m.parameters_; },
       [&](std::string name, const Tensor& t) {
         if (t.defined()) out.insert(std::move(name), t);
       });
  return out;
}

OrderedDict<std::string, Tensor> Module::named_buffers(bool recurse) const {
  OrderedDict<std::string, Tensor> out;
  walk(*this, "", recurse, [](const Module& m) -> const auto& { return m.buffers_; },
       [&](std::string name, const Tensor& t) {
         if (t.defined()) out.insert(std::move(name), t);
       });
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const { return named_parameters(recurse).values(); }
std::vector<Tensor> Module::buffers(bool recurse) const { return named_buffers(recurse).values(); }
std::vector<std::shared_ptr<Module>> Module::children() const { return children_.values(); }
OrderedDict<std::string, std::shared_ptr<Module>> Module::named_children() const { return children_; }

OrderedDict<std::string, std::shared_ptr<Module>> Module::named_modules(bool include_self) {
  OrderedDict<std::string, std::shared_ptr<Module>> out;
  if (include_self) out.insert("", shared_from_this());
  // Depth first in registration order.
  std::function<void(const std::string&, const std::shared_ptr<Module>&)> visit =
      [&](const std::string& prefix, const std::shared_ptr<Module>& m) {
        for (const auto& child : m->children_) {
          std::string name = prefix.empty() ? child.key() : prefix + "." + child.key();
          out.insert(name, child.value());
          visit(name, child.value());
        }
      };
  visit("", shared_from_this());
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules(bool include_self) { return named_modules(include_self).values(); }

void Module::train(bool on) {
  training_ = on;
  for (const auto& child : children_) child.value()->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.mutable_grad() = Tensor();
    else p.grad().zero_();
  }
}

// set_data keeps each tensor's identity (a leaf that requires grad stays one), so handles held
// elsewhere (an optimizer's parameter list) see the new value, as in LibTorch.
void Module::to(ScalarType dtype) {
  for (Tensor& t : parameters())
    if (t.is_floating_point() && t.dtype() != dtype) t.set_data(t.detach().to(dtype));
  for (Tensor& t : buffers())
    if (t.is_floating_point() && t.dtype() != dtype) t.set_data(t.detach().to(dtype));
}

void Module::to(Device device) {
  for (Tensor& t : parameters())
    if (t.device() != device) t.set_data(t.detach().to(device));
  for (Tensor& t : buffers())
    if (t.device() != device) t.set_data(t.detach().to(device));
}

void Module::pretty_print(std::ostream& os) const { os << name_; }

void Module::print_tree(std::ostream& os, int indent) const {
  pretty_print(os);
  if (children_.is_empty()) return;
  os << "(\n";
  for (const auto& child : children_) {
    os << std::string(indent + 2, ' ') << "(" << child.key() << "): ";
    child.value()->print_tree(os, indent + 2);
    os << "\n";
  }
  os << std::string(indent, ' ') << ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) {
  m.print_tree(os, 0);
  return os;
}

}  // namespace kiln::nn
