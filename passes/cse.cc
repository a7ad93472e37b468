#include "passes/cse.h"

#include <bit>
#include <cstdint>
#include <functional>
#include <vector>

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

bool same_attrs(const ir::Attrs& a, const ir::Attrs& b) {
  return a.axes == b.axes && a.low == b.low && a.high == b.high && a.step == b.step && same_scalar(a.value, b.value) &&
         same_scalar(a.delta, b.delta) && a.distribution == b.distribution && a.seed == b.seed && a.offset == b.offset;
}

}  // namespace

size_t CseTable::Hash::operator()(const ir::NodePtr& n) const {
  size_t h = static_cast<size_t>(n->op);
  mix(h, static_cast<size_t>(n->dtype));
  mix_ints(h, n->shape);
  for (const ir::NodePtr& in : n->inputs) mix(h, std::hash<const ir::Node*>()(in.get()));
  const ir::Attrs& a = n->attrs;
  mix_ints(h, a.axes);
  mix_ints(h, a.low);
  mix_ints(h, a.high);
  mix_ints(h, a.step);
  mix_scalar(h, a.value);
  mix_scalar(h, a.delta);
  mix(h, static_cast<size_t>(a.distribution));
  mix(h, a.seed);
  mix(h, a.offset);
  return h;
}

bool CseTable::Equal::operator()(const ir::NodePtr& a, const ir::NodePtr& b) const {
  return a->op == b->op && a->dtype == b->dtype && a->shape == b->shape && a->inputs == b->inputs &&
         same_attrs(a->attrs, b->attrs);
}

ir::NodePtr CseTable::intern(const ir::NodePtr& n) {
  if (n->is_buffer()) return n;
  return *nodes_.insert(n).first;
}

}  // namespace kiln::passes
