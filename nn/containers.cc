#include "kiln/nn/containers.h"

namespace kiln::nn {

void ModuleListImpl::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

const std::shared_ptr<Module>& ModuleListImpl::ptr(size_t index) const {
  check(index < modules_.size(), "ModuleList", {}, [&] {
    return "index " + std::to_string(index) + " is out of range for a list of " + std::to_string(modules_.size());
  });
  return modules_[index];
}

ModuleDictImpl::ModuleDictImpl(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules)
    : Module("ModuleDict") {
  for (const auto& [key, module] : modules) update(key, module);
}

void ModuleDictImpl::update(const std::string& key, std::shared_ptr<Module> module) {
  if (contains(key)) replace_module(key, std::move(module));
  else register_module(key, std::move(module));
}

const std::shared_ptr<Module>& ModuleDictImpl::operator[](const std::string& key) const {
  const std::shared_ptr<Module>* m = child_modules().find(key);
  check(m != nullptr, "ModuleDict", {}, [&] { return "no module under key \"" + key + "\""; });
  return *m;
}

bool ModuleDictImpl::contains(const std::string& key) const { return child_modules().contains(key); }
std::vector<std::string> ModuleDictImpl::keys() const { return child_modules().keys(); }
std::vector<std::shared_ptr<Module>> ModuleDictImpl::values() const { return children(); }
size_t ModuleDictImpl::size() const { return child_modules().size(); }

}  // namespace kiln::nn
