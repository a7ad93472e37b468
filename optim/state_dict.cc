// Optimizer::state_dict and load_state_dict: the state of every optimizer through its slots.
#include <set>

#include "kiln/optim/optimizer.h"

namespace kiln::optim {

namespace {
std::string group_key(size_t g) { return "param_groups." + std::to_string(g) + ".lr"; }
std::string state_prefix(size_t g, size_t i) { return "state." + std::to_string(g) + "." + std::to_string(i) + "."; }
}  // namespace

std::map<std::string, Tensor> Optimizer::state_dict() const {
  // Slots are made on first use, which changes no value: the walk is logically const.
  Optimizer& self = const_cast<Optimizer&>(*this);
  std::map<std::string, Tensor> out;
  for (size_t g = 0; g < groups_.size(); ++g) {
    out[group_key(g)] = tensor(self.groups_[g].options().get_lr(), dtype(kFloat64));
    for (size_t i = 0; i < groups_[g].params().size(); ++i) {
      std::vector<StateSlot> slots = self.state_slots(g, i);
      bool started = false;
      for (const StateSlot& s : slots) started |= s.tensor ? s.tensor->defined() : *s.count > 0;
      if (!started) continue;
      for (const StateSlot& s : slots)
        out[state_prefix(g, i) + s.name] = s.tensor ? *s.tensor : tensor(*s.count, dtype(kInt64)).reshape({});
    }
  }
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  auto fail = [](const std::string& what) { throw Error("load_state_dict", what, {}); };
  std::set<std::string> used;
  for (size_t g = 0; g < groups_.size(); ++g) {
    auto lr = state.find(group_key(g));
    if (lr == state.end() || lr->second.numel() != 1) fail("missing or malformed key \"" + group_key(g) + "\"");
    used.insert(lr->first);
    for (size_t i = 0; i < groups_[g].params().size(); ++i) {
      const Tensor& p = groups_[g].params()[i];
      std::vector<StateSlot> slots = state_slots(g, i);
      size_t present = 0;
      for (const StateSlot& s : slots) present += state.count(state_prefix(g, i) + s.name);
      if (present == 0) continue;  // a parameter with no state yet
      for (const StateSlot& s : slots) {
        std::string key = state_prefix(g, i) + s.name;
        auto it = state.find(key);
        if (it == state.end()) fail("missing key \"" + key + "\"");
        const Tensor& t = it->second;
        bool fits = s.tensor ? t.sizes() == p.sizes() && t.dtype() == p.dtype() : t.numel() == 1 && t.dtype() == kInt64;
        if (!fits)
          fail("\"" + key + "\" is " + std::string(dtype_name(t.dtype())) + shape_str(t.sizes()) + ", expected " +
               (s.tensor ? std::string(dtype_name(p.dtype())) + shape_str(p.sizes()) : std::string("an int64 count")));
        used.insert(key);
      }
    }
  }
  for (const auto& [key, t] : state)
    if (!used.count(key)) fail("unexpected key \"" + key + "\" (a different optimizer, options or parameters?)");
  // Checked: now change.
  for (size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].options().set_lr(state.at(group_key(g)).item<double>());
    for (size_t i = 0; i < groups_[g].params().size(); ++i) {
      for (const StateSlot& s : state_slots(g, i)) {
        auto it = state.find(state_prefix(g, i) + s.name);
        // On the parameter's device, as LibTorch's load_state_dict casts state to its parameter.
        const Tensor& p = groups_[g].params()[i];
        if (s.tensor) *s.tensor = it == state.end() ? Tensor() : it->second.detach().to(p.device()).clone().eval();
        else *s.count = it == state.end() ? 0 : it->second.item<int64_t>();
      }
    }
  }
}

}  // namespace kiln::optim
