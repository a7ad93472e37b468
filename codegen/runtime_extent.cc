#include "codegen/runtime_extent.h"


namespace kiln::codegen {

namespace {

int64_t& extent_entry(Kernel& k, int var) {
  size_t v = static_cast<size_t>(var);
  return v < k.outer.size() ? k.outer[v] : k.inner[v - k.outer.size()];
}

Shape with_extent(Shape s, int64_t extent) {
  for (int64_t& e : s)
    if (e == kRuntimeExtent) e = extent;
  return s;
}

// Calls f(arg, index, is_store) for every load and store.
template <typename F> void for_each_access(const Kernel& k, F f) {
  for (const ValueNode& v : k.values)
    if (v.kind == ValueNode::Load) f(v.arg, v.index, false);
  for (const auto* stores : {&k.inner_stores, &k.outer_stores})
    for (const Store& s : *stores) f(s.arg, s.index, true);
  for (const Reduction& r : k.reductions)
    for (const Store& s : r.stores) f(s.arg, s.index, true);
}


}  // namespace

std::string runtime_extent_problem(const Kernel& k) {
  int var = k.runtime_var;
  if (var < 0) return "";
  size_t vars = k.outer.size() + k.inner.size();
  if (static_cast<size_t>(var) >= vars) return "runtime variable out of range";
  for (size_t v = 0; v < vars; ++v) {
    int64_t e = v < k.outer.size() ? k.outer[v] : k.inner[v - k.outer.size()];
    if ((e == kRuntimeExtent) != (static_cast<int>(v) == var)) return "runtime extent on the wrong variable";
  }
  std::vector<bool> reads = depends_on(k, var);
  std::vector<Interval> residual = residual_ranges(k);
  std::string problem;
  for_each_access(k, [&](int arg, int id, bool is_store) {
    if (!problem.empty()) return;
    const Arg& a = k.args.at(static_cast<size_t>(arg));
    if (!a.scaled) {
      if (reads[id]) problem = "argument a" + std::to_string(arg) + " is not scaled but read with the runtime variable";
      return;
    }
    std::optional<int64_t> c = affine_coefficient(k, id, var);
    if (!reads[id] || !c || *c != a.numel || a.numel <= 0)
      problem = "argument a" + std::to_string(arg) + " is not indexed as numel * i + r";
    else if (is_store && (residual[id].lo < 0 || residual[id].hi >= a.numel))
      problem = "argument a" + std::to_string(arg) + " is stored past one unit of the runtime extent";
  });
  return problem;
}

bool make_extent_runtime(Kernel& k, int var) {
  if (var < 0 || static_cast<size_t>(var) >= k.outer.size() + k.inner.size() || k.runtime_var >= 0) return false;
  Kernel g = k;
  int64_t extent = extent_entry(g, var);
  if (extent <= 0 || extent > kMaxRuntimeExtent) return false;
  std::vector<bool> reads = depends_on(g, var);
  for_each_access(k, [&](int arg, int id, bool) { g.args[arg].scaled |= reads[id]; });
  for (Arg& a : g.args) {
    if (!a.scaled) continue;
    if (a.numel % extent != 0) return false;
    a.numel /= extent;
  }
  extent_entry(g, var) = kRuntimeExtent;
  g.runtime_var = var;
  if (!runtime_extent_problem(g).empty()) return false;
  k = std::move(g);
  return true;
}

std::vector<Interval> residual_ranges(const Kernel& k) { return index_ranges(k, loop_ranges(k, /*max_runtime=*/1)); }

Shape outer_extents(const Kernel& k, int64_t extent) { return with_extent(k.outer, extent); }
Shape inner_extents(const Kernel& k, int64_t extent) { return with_extent(k.inner, extent); }

int64_t arg_numel(const Kernel& k, int arg, int64_t extent) {
  const Arg& a = k.args.at(static_cast<size_t>(arg));
  return a.scaled ? a.numel * extent : a.numel;
}

}  // namespace kiln::codegen
