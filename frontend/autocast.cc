// Autocast's per-thread state and the cast every autocast op applies to its inputs.
#include "kiln/autocast.h"

#include <string>

#include "frontend/recording.h"

namespace kiln {

namespace {

struct State {
  bool enabled = false;
  ScalarType dtype;
};

// One entry per device type (DeviceType's values), PyTorch's defaults.
thread_local State g_state[2] = {{false, kBFloat16}, {false, kFloat16}};

State& state(DeviceType device) { return g_state[static_cast<size_t>(device)]; }

}  // namespace

namespace autocast {

bool is_enabled(DeviceType device) { return state(device).enabled; }
void set_enabled(DeviceType device, bool enabled) { state(device).enabled = enabled; }
ScalarType get_dtype(DeviceType device) { return state(device).dtype; }

void set_dtype(DeviceType device, ScalarType dtype, Loc loc) {
  check(is_reduced_float(dtype), "autocast", SourceLoc::from(loc), [&] {
    return "the autocast dtype must be float16 or bfloat16, got " + std::string(dtype_name(dtype));
  });
  state(device).dtype = dtype;
}

Tensor cast(const Tensor& x, Loc loc) {
  if (!x.defined()) return x;
  SourceLoc l = SourceLoc::from(loc);
  const ir::NodePtr& n = detail::operand(x, "autocast", l);
  ir::NodePtr c = detail::autocast_to(n, l);
  return c == n ? x : detail::make_tensor(std::move(c));
}

}  // namespace autocast

ir::NodePtr detail::autocast_to(ir::NodePtr x, SourceLoc loc) {
  const State& s = state(x->device.type());
  if (!s.enabled || !is_floating(x->dtype) || x->dtype == kFloat64) return x;
  return cast_to(std::move(x), s.dtype, loc);
}

AutocastGuard::AutocastGuard(DeviceType device, std::optional<ScalarType> dtype, bool enabled, Loc loc)
    : device_(device), was_enabled_(autocast::is_enabled(device)), was_dtype_(autocast::get_dtype(device)) {
  if (dtype) autocast::set_dtype(device, *dtype, loc);
  autocast::set_enabled(device, enabled);
}

AutocastGuard::~AutocastGuard() {
  state(device_) = {was_enabled_, was_dtype_};
}

}  // namespace kiln
