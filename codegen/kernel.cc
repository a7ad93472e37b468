#include "codegen/kernel.h"

#include <algorithm>

#include <cstring>

namespace kiln::codegen {

namespace {

// FNV-1a over the kernel's fields, in a fixed order.
struct Hasher {
  uint64_t h = 1469598103934665603ULL;
  void add(uint64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ULL;
  }
  void add(const Scalar& s) {
    add(static_cast<uint64_t>(s.type()));
    add(static_cast<uint64_t>(s.to_long()));
    double d = s.to_double();
    uint64_t bits;
    static_assert(sizeof bits == sizeof d);
    std::memcpy(&bits, &d, sizeof bits);
    add(bits);
  }
  void add(const Shape& s) {
    add(s.size());
    for (int64_t d : s) add(static_cast<uint64_t>(d));
  }
  void add(const std::vector<Store>& stores) {
    add(stores.size());
    for (const Store& s : stores) add((uint64_t(s.arg) << 40) ^ (uint64_t(s.index) << 20) ^ uint64_t(s.value));
  }
};

std::string index_str(const Kernel& k, int id) {
  const IndexNode& n = k.indices[id];
  switch (n.kind) {
    case IndexNode::Var: return "i" + std::to_string(n.value);
    case IndexNode::Const: return std::to_string(n.value);
    case IndexNode::Add: return "(" + index_str(k, n.a) + " + " + index_str(k, n.b) + ")";
    case IndexNode::Mul: return index_str(k, n.a) + "*" + index_str(k, n.b);
    case IndexNode::FloorDiv: return "(" + index_str(k, n.a) + " / " + index_str(k, n.b) + ")";
    case IndexNode::Mod: return "(" + index_str(k, n.a) + " % " + index_str(k, n.b) + ")";
  }
  return "?";
}

std::string value_str(const Kernel& k, const ValueNode& v) {
  switch (v.kind) {
    case ValueNode::Load: return "load a" + std::to_string(v.arg) + "[" + index_str(k, v.index) + "]";
    case ValueNode::Constant: return "const " + v.constant.str();
    case ValueNode::IndexValue: return "index " + index_str(k, v.index);
    case ValueNode::InRange:
      return "in_range " + std::to_string(v.lo) + " <= " + index_str(k, v.index) + " < " + std::to_string(v.hi);
    case ValueNode::Accumulator: return "acc" + std::to_string(v.reduction);
    case ValueNode::Random:
      return std::string(v.distribution == ir::Distribution::Normal ? "philox_normal" : "philox_uniform") + " a" +
             std::to_string(v.arg) + " at " + index_str(k, v.index);
    case ValueNode::Elementwise: {
      std::string s(ir::op_name(v.op));
      for (size_t i = 0; i < v.operands.size(); ++i) s += (i ? ", v" : " v") + std::to_string(v.operands[i]);
      return s;
    }
  }
  return "?";
}

std::string stores_str(const Kernel& k, const std::vector<Store>& stores, const char* indent) {
  std::string s;
  for (const Store& st : stores)
    s += std::string(indent) + "a" + std::to_string(st.arg) + "[" + index_str(k, st.index) + "] = v" +
         std::to_string(st.value) + "\n";
  return s;
}

// "[N, 64]": the runtime extent prints as N.
std::string extents_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + (s[i] == kRuntimeExtent ? std::string("N") : std::to_string(s[i]));
  return out + "]";
}

}  // namespace

bool Kernel::operator==(const Kernel& o) const {
  return args == o.args && runtime_var == o.runtime_var && outer == o.outer && inner == o.inner && indices == o.indices && values == o.values &&
         reductions == o.reductions && inner_stores == o.inner_stores && outer_stores == o.outer_stores;
}

void remove_unused(Kernel& k) {
  std::vector<bool> value_used(k.values.size()), index_used(k.indices.size());
  for (const Reduction& r : k.reductions) {
    value_used[r.value] = true;
    if (r.position >= 0) index_used[r.position] = true;
    for (const Store& s : r.stores) value_used[s.value] = index_used[s.index] = true;
  }
  for (const auto* stores : {&k.inner_stores, &k.outer_stores})
    for (const Store& s : *stores) value_used[s.value] = index_used[s.index] = true;
  for (size_t i = k.values.size(); i-- > 0;) {
    if (!value_used[i]) continue;
    const ValueNode& v = k.values[i];
    for (int o : v.operands) value_used[o] = true;
    if (v.index >= 0) index_used[v.index] = true;
  }
  for (size_t i = k.indices.size(); i-- > 0;)
    if (index_used[i] && k.indices[i].kind >= IndexNode::Add) index_used[k.indices[i].a] = index_used[k.indices[i].b] = true;
  // New ids: position among the kept nodes.
  auto renumbering = [](const std::vector<bool>& used) {
    std::vector<int> id(used.size(), -1);
    int next = 0;
    for (size_t i = 0; i < used.size(); ++i)
      if (used[i]) id[i] = next++;
    return id;
  };
  std::vector<int> index_id = renumbering(index_used), value_id = renumbering(value_used);
  std::vector<IndexNode> indices;
  for (size_t i = 0; i < k.indices.size(); ++i) {
    if (!index_used[i]) continue;
    IndexNode n = k.indices[i];
    if (n.kind >= IndexNode::Add) n.a = index_id[n.a], n.b = index_id[n.b];
    indices.push_back(n);
  }
  std::vector<ValueNode> values;
  std::vector<SourceLoc> locs;
  for (size_t i = 0; i < k.values.size(); ++i) {
    if (!value_used[i]) continue;
    ValueNode v = k.values[i];
    for (int& o : v.operands) o = value_id[o];
    if (v.index >= 0) v.index = index_id[v.index];
    values.push_back(std::move(v));
    if (i < k.locs.size()) locs.push_back(k.locs[i]);
  }
  k.indices = std::move(indices);
  k.values = std::move(values);
  k.locs = std::move(locs);
  for (Reduction& r : k.reductions) {
    r.value = value_id[r.value];
    if (r.position >= 0) r.position = index_id[r.position];
    for (Store& s : r.stores) s.value = value_id[s.value], s.index = index_id[s.index];
  }
  for (auto* stores : {&k.inner_stores, &k.outer_stores})
    for (Store& s : *stores) s.value = value_id[s.value], s.index = index_id[s.index];
}

uint64_t structural_hash(const Kernel& k) {
  Hasher h;
  h.add(k.args.size());
  for (const Arg& a : k.args) h.add((uint64_t(a.dtype) << 3 | a.by_value << 2 | a.scaled << 1 | a.output) ^ (uint64_t(a.numel) << 8));
  h.add(static_cast<uint64_t>(k.runtime_var));
  h.add(k.outer);
  h.add(k.inner);
  h.add(k.indices.size());
  for (const IndexNode& n : k.indices) {
    h.add(n.kind);
    h.add(static_cast<uint64_t>(n.value));
    h.add((uint64_t(uint32_t(n.a)) << 32) | uint32_t(n.b));
  }
  h.add(k.values.size());
  for (const ValueNode& v : k.values) {
    h.add((uint64_t(v.kind) << 16) | (uint64_t(v.dtype) << 8) | uint64_t(v.op));
    h.add(v.operands.size());
    for (int o : v.operands) h.add(static_cast<uint64_t>(o));
    h.add((uint64_t(uint32_t(v.arg)) << 32) | uint32_t(v.index));
    h.add(static_cast<uint64_t>(v.lo));
    h.add(static_cast<uint64_t>(v.hi));
    h.add(v.constant);
    h.add(static_cast<uint64_t>(v.reduction));
    h.add(static_cast<uint64_t>(v.distribution));
  }
  h.add(k.reductions.size());
  for (const Reduction& r : k.reductions) {
    h.add((uint64_t(r.op) << 40) | (uint64_t(r.dtype) << 32) | uint32_t(r.value));
    if (r.position >= 0) h.add(static_cast<uint64_t>(r.position));  // only arg reductions have one
    if (!r.stores.empty()) h.add(r.stores);
  }
  h.add(k.inner_stores);
  h.add(k.outer_stores);
  return h.h;
}

std::string print_kernel(const Kernel& k) {
  std::string s = "kernel " + k.name + "(";
  for (size_t i = 0; i < k.args.size(); ++i)
    s += (i ? ", " : "") + std::string(k.args[i].output ? "out " : k.args[i].by_value ? "value " : "") + "a" + std::to_string(i) + ": " +
         std::string(dtype_short_name(k.args[i].dtype)) + "[" + (k.args[i].scaled ? "N*" : "") +
         std::to_string(k.args[i].numel) + "]";
  s += ")\n  outer " + extents_str(k.outer) + "  inner " + extents_str(k.inner) + "\n";
  for (size_t i = 0; i < k.values.size(); ++i) {
    s += "  v" + std::to_string(i) + " = " + value_str(k, k.values[i]) + " : " +
         std::string(dtype_short_name(k.values[i].dtype));
    if (i < k.locs.size() && k.locs[i].line > 0) s += "  loc(" + k.locs[i].str() + ")";
    s += "\n";
  }
  for (size_t r = 0; r < k.reductions.size(); ++r) {
    const Reduction& red = k.reductions[r];
    s += "  acc" + std::to_string(r) + " = " + std::string(ir::op_name(red.op)) + " over inner of v" +
         std::to_string(red.value);
    if (red.position >= 0) s += " at " + index_str(k, red.position);
    s += "\n" + stores_str(k, red.stores, "    stores ");
  }
  if (!k.inner_stores.empty()) s += "  for inner:\n" + stores_str(k, k.inner_stores, "    ");
  return s + stores_str(k, k.outer_stores, "  ");
}

std::vector<std::pair<size_t, size_t>> reduction_groups(const Kernel& k) {
  std::vector<int> reads(k.values.size(), -1);  // per value: the highest reduction it reads, or -1
  for (size_t i = 0; i < k.values.size(); ++i) {
    const ValueNode& v = k.values[i];
    for (int o : v.operands) reads[i] = std::max(reads[i], reads[o]);
    if (v.kind == ValueNode::Accumulator) reads[i] = std::max(reads[i], v.reduction);
  }
  std::vector<std::pair<size_t, size_t>> groups;
  for (size_t start = 0; start < k.reductions.size();) {
    size_t stop = start + 1;
    while (stop < k.reductions.size() && reads[k.reductions[stop].value] < int(start)) ++stop;
    groups.emplace_back(start, stop);
    start = stop;
  }
  return groups;
}

}  // namespace kiln::codegen
