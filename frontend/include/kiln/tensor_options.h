// TensorOptions, devices and the option helpers, as in LibTorch (kiln::dtype(kFloat64), ...).
#pragma once

#include <cstdint>
#include <optional>
#include <source_location>
#include <string>

#include "ir/device.h"
#include "ir/dtype.h"

namespace kiln {

// The floating dtype factories and promotions use when nothing says otherwise (float32 at
// start-up), as torch::set_default_dtype. Process-wide; float32 or float64.
void set_default_dtype(ScalarType t, std::source_location loc = std::source_location::current());
ScalarType get_default_dtype();

class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(ScalarType t) : dtype_(t) {}
  TensorOptions(DeviceType d) : device_(Device(d)) {}
  TensorOptions(Device d) : device_(d) {}

  TensorOptions dtype(ScalarType t) const { TensorOptions o = *this; o.dtype_ = t; return o; }
  TensorOptions device(Device d) const { TensorOptions o = *this; o.device_ = d; return o; }
  TensorOptions requires_grad(bool r) const { TensorOptions o = *this; o.requires_grad_ = r; return o; }

  bool has_dtype() const { return dtype_.has_value(); }
  ScalarType dtype() const { return dtype_.has_value() ? *dtype_ : get_default_dtype(); }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  std::optional<ScalarType> dtype_;
  Device device_;
  bool requires_grad_ = false;
};

inline TensorOptions dtype(ScalarType t) { return TensorOptions().dtype(t); }
inline TensorOptions device(Device d) { return TensorOptions().device(d); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace kiln
