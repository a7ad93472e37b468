// Automatic mixed precision, as at::autocast / torch.autocast: while autocast is enabled for a
// device type, matmul (and mm, bmm, addmm), nn::functional::linear and conv2d cast
// their floating inputs (float32, float16, bfloat16; never float64) to the autocast dtype and
// produce that dtype. Every other op is unchanged. The casts are ordinary graph nodes, so
// gradients flow back through them to float32 parameters in float32 (a cast's gradient is a cast
// back). The state is per thread, as PyTorch's.
//
//   {
//     kiln::AutocastGuard guard(kiln::kCPU);   // bfloat16 on the CPU by default
//     loss = model->forward(x).sum();           // matmuls in bfloat16, float32 accumulation
//   }
//   loss.backward();                            // float32 gradients for float32 parameters
#pragma once

#include <optional>

#include "ir/device.h"
#include "ir/dtype.h"
#include "kiln/tensor.h"

namespace kiln {
namespace autocast {

bool is_enabled(DeviceType device = kCPU);
void set_enabled(DeviceType device, bool enabled);
// The lower precision type: kBFloat16 on the CPU and kFloat16 on CUDA until set.
ScalarType get_dtype(DeviceType device = kCPU);
// Throws kiln::Error unless `dtype` is kFloat16 or kBFloat16.
void set_dtype(DeviceType device, ScalarType dtype, Loc loc = Loc::current());

// What an autocast op does to each input: `x` cast to the autocast dtype of its device when
// autocast is enabled there and `x` is float32, float16 or bfloat16; otherwise `x` itself.
// For custom layers that want autocast's behaviour (at::autocast::cached_cast, without a cache:
// equal casts of one tensor are merged when the graph is simplified).
Tensor cast(const Tensor& x, Loc loc = Loc::current());

// at::autocast's spellings.
inline bool is_autocast_enabled(DeviceType device) { return is_enabled(device); }
inline void set_autocast_enabled(DeviceType device, bool enabled) { set_enabled(device, enabled); }
inline ScalarType get_autocast_dtype(DeviceType device) { return get_dtype(device); }
inline void set_autocast_dtype(DeviceType device, ScalarType dtype) { set_dtype(device, dtype); }

}  // namespace autocast

// Enables (or disables) autocast for `device` in its scope on this thread, with `dtype` when
// given, and restores the previous state after (torch.autocast(device_type, dtype, enabled)).
class AutocastGuard {
 public:
  explicit AutocastGuard(DeviceType device, std::optional<ScalarType> dtype = std::nullopt, bool enabled = true,
                         Loc loc = Loc::current());
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  DeviceType device_;
  bool was_enabled_;
  ScalarType was_dtype_;
};

}  // namespace kiln
