#include "passes/cse.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "ir/printer.h"
#include "passes/simplify_rules.h"

namespace kiln::passes {

namespace {

// boost::hash_combine's mixing step.
void mix(size_t& seed, size_t v) { seed ^= v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2); }

void mix_ints(size_t& seed, const std::vector<int64_t>& v) {
  mix(seed, v.size());
  for (int64_t x : v) mix(seed, std::hash<int64_t>()(x));
}

// Consistent with same_scalar: floats by their bits.
void mix_scalar(size_t& seed, const Scalar& s) {
  mix(seed, static_cast<size_t>(s.type()));
  mix(seed, s.is_floating_point() ? std::bit_cast<uint64_t>(s.to_double()) : static_cast<uint64_t>(s.to_long()));
}

// Field by field, scalars by their bits (same_scalar).
struct SameField {
  bool operator()(const char*, const Scalar& x, const Scalar& y) const { return same_scalar(x, y); }
  template <typename T> bool operator()(const char*, const T& x, const T& y) const { return x == y; }
};

struct MixField {
  size_t& h;
  void operator()(const char*, const std::vector<int64_t>& v) const { mix_ints(h, v); }
  void operator()(const char*, const Scalar& s) const { mix_scalar(h, s); }
  template <typename T> void operator()(const char*, const T& v) const { mix(h, static_cast<size_t>(v)); }
};

}  // namespace

size_t CseTable::Hash::operator()(const ir::NodePtr& n) const {
  size_t h = static_cast<size_t>(n->op);
  mix(h, static_cast<size_t>(n->dtype));
  mix_ints(h, n->shape);
  for (const ir::NodePtr& in : n->inputs) mix(h, std::hash<const ir::Node*>()(in.get()));
  mix(h, static_cast<size_t>(n->device.type()) << 8 | static_cast<size_t>(std::max(n->device.index(), 0)));
  ir::for_each_attr(n->attrs, MixField{h});
  return h;
}

bool CseTable::Equal::operator()(const ir::NodePtr& a, const ir::NodePtr& b) const {
  return a->op == b->op && a->dtype == b->dtype && a->shape == b->shape && a->device == b->device &&
         a->inputs == b->inputs && ir::all_attrs(a->attrs, b->attrs, SameField{});
}

ir::NodePtr CseTable::intern(const ir::NodePtr& n) {
  if (n->is_buffer()) return n;
  return *nodes_.insert(n).first;
}

std::vector<ir::NodePtr> eliminate_common_subexpressions(const std::vector<ir::NodePtr>& outputs) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : outputs) roots.push_back(o.get());
  std::unordered_map<const ir::Node*, ir::NodePtr> merged;
  // topological_order gives raw pointers; the shared pointers come from each node's users.
  std::unordered_map<const ir::Node*, ir::NodePtr> owner;
  for (const ir::NodePtr& o : outputs) owner[o.get()] = o;
  std::vector<const ir::Node*> order = ir::topological_order(roots);
  for (const ir::Node* n : order)
    for (const ir::NodePtr& in : n->inputs) owner[in.get()] = in;
  CseTable table;
  for (const ir::Node* n : order) {
    std::vector<ir::NodePtr> inputs;
    bool same = true;
    for (const ir::NodePtr& in : n->inputs) {
      inputs.push_back(merged.at(in.get()));
      same = same && inputs.back() == in;
    }
    ir::NodePtr node = owner.at(n);
    if (!same) {
      node = n->rebuilt(std::move(inputs));
    }
    merged[n] = table.intern(node);
  }
  std::vector<ir::NodePtr> result;
  for (const ir::NodePtr& o : outputs) result.push_back(merged.at(o.get()));
  return result;
}

}  // namespace kiln::passes
