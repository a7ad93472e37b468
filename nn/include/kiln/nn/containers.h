// ModuleList and ModuleDict, as LibTorch's: modules held in order (by index or by name) and
// registered as children, so their parameters, modes and printing follow the tree. Neither has a
// forward: the owner decides how to call what they hold.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/nn/module.h"

namespace kiln::nn {

class ModuleListImpl : public Module {
 public:
  ModuleListImpl() : Module("ModuleList") {}
  template <typename... Modules>
  explicit ModuleListImpl(Modules&&... modules) : Module("ModuleList") {
    (push_back(std::forward<Modules>(modules)), ...);
  }
  void push_back(std::shared_ptr<Module> module);
  template <typename M, typename = decltype(std::declval<const M&>().ptr())>
  void push_back(const M& holder) {  // a ModuleHolder
    push_back(std::static_pointer_cast<Module>(holder.ptr()));
  }
  // The module at `index` (kiln::Error past the end); ptr<T> casts it to its Impl type.
  const std::shared_ptr<Module>& ptr(size_t index) const;
  template <typename T>
  std::shared_ptr<T> ptr(size_t index) const {
    return std::dynamic_pointer_cast<T>(ptr(index));
  }
  const std::shared_ptr<Module>& operator[](size_t index) const { return ptr(index); }
  size_t size() const { return modules_.size(); }
  bool is_empty() const { return modules_.empty(); }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};
KILN_MODULE(ModuleList);

class ModuleDictImpl : public Module {
 public:
  ModuleDictImpl() : Module("ModuleDict") {}
  explicit ModuleDictImpl(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules);
  // Adds `module` under `key`, or replaces the module already there (keeping its position).
  void update(const std::string& key, std::shared_ptr<Module> module);
  template <typename M, typename = decltype(std::declval<const M&>().ptr())>
  void update(const std::string& key, const M& holder) {
    update(key, std::static_pointer_cast<Module>(holder.ptr()));
  }
  const std::shared_ptr<Module>& operator[](const std::string& key) const;  // kiln::Error if absent
  bool contains(const std::string& key) const;
  std::vector<std::string> keys() const;
  std::vector<std::shared_ptr<Module>> values() const;
  size_t size() const;
  bool empty() const { return size() == 0; }
};
KILN_MODULE(ModuleDict);

}  // namespace kiln::nn
