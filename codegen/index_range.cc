#include "codegen/index_range.h"

#include <algorithm>

namespace kiln::codegen {

namespace {

I128 saturate(I128 v) { return std::clamp(v, -Interval::kBig, Interval::kBig); }

}  // namespace

Interval node_range(const IndexNode& n, const std::vector<Interval>& range, const std::vector<Interval>& var_ranges) {
  switch (n.kind) {
    case IndexNode::Var: return var_ranges.at(static_cast<size_t>(n.value));
    case IndexNode::Const: return {saturate(n.value), saturate(n.value)};
    case IndexNode::Add: return {saturate(range[n.a].lo + range[n.b].lo), saturate(range[n.a].hi + range[n.b].hi)};
    case IndexNode::Mul: {
      const Interval &x = range[n.a], &y = range[n.b];
      I128 p[] = {x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi};
      return {saturate(*std::min_element(p, p + 4)), saturate(*std::max_element(p, p + 4))};
    }
    case IndexNode::FloorDiv: {
      const Interval &x = range[n.a], &y = range[n.b];
      if (x.lo >= 0 && y.lo >= 1) return {x.lo / y.hi, x.hi / y.lo};
      break;
    }
    case IndexNode::Mod: {
      const Interval &x = range[n.a], &y = range[n.b];
      if (x.lo >= 0 && y.lo >= 1) return {0, std::min(x.hi, y.hi - 1)};
      break;
    }
  }
  return {-Interval::kBig, Interval::kBig};
}

std::vector<Interval> index_ranges(const Kernel& k, const std::vector<Interval>& var_ranges) {
  std::vector<Interval> range;
  range.reserve(k.indices.size());
  for (const IndexNode& n : k.indices) range.push_back(node_range(n, range, var_ranges));
  return range;
}

std::vector<Interval> loop_ranges(const Kernel& k, int64_t max_runtime) {
  std::vector<Interval> vars;
  for (const Shape* space : {&k.outer, &k.inner})
    for (int64_t extent : *space) {
      int64_t e = extent == kRuntimeExtent ? max_runtime : extent;
      vars.push_back({0, std::max<I128>(0, e - 1)});
    }
  return vars;
}

std::optional<int64_t> affine_coefficient(const Kernel& k, int id, int var) {
  const IndexNode& n = k.indices[id];
  auto constant = [&](int x) -> std::optional<int64_t> {
    if (k.indices[x].kind == IndexNode::Const) return k.indices[x].value;
    return std::nullopt;
  };
  auto small = [](I128 v) -> std::optional<int64_t> {
    if (v > (I128{1} << 40) || v < -(I128{1} << 40)) return std::nullopt;
    return int64_t(v);
  };
  switch (n.kind) {
    case IndexNode::Var: return n.value == var ? 1 : 0;
    case IndexNode::Const: return 0;
    case IndexNode::Add: {
      auto a = affine_coefficient(k, n.a, var), b = affine_coefficient(k, n.b, var);
      if (!a || !b) return std::nullopt;
      return small(I128(*a) + *b);
    }
    case IndexNode::Mul: {
      auto a = affine_coefficient(k, n.a, var), b = affine_coefficient(k, n.b, var);
      if (!a || !b) return std::nullopt;
      if (*a == 0 && *b == 0) return 0;
      if (*b == 0 && constant(n.b)) return small(I128(*a) * *constant(n.b));
      if (*a == 0 && constant(n.a)) return small(I128(*b) * *constant(n.a));
      return std::nullopt;
    }
    case IndexNode::FloorDiv:
    case IndexNode::Mod: {
      auto a = affine_coefficient(k, n.a, var), b = affine_coefficient(k, n.b, var);
      if (a && b && *a == 0 && *b == 0) return 0;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::vector<bool> depends_on(const Kernel& k, int var) {
  std::vector<bool> reads(k.indices.size());
  for (size_t i = 0; i < k.indices.size(); ++i) {
    const IndexNode& n = k.indices[i];
    if (n.kind == IndexNode::Var) reads[i] = n.value == var;
    else if (n.kind != IndexNode::Const) reads[i] = reads[n.a] || reads[n.b];
  }
  return reads;
}

}  // namespace kiln::codegen
